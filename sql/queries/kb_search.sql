-- Search over the chunks (embeddings) of an org's enabled knowledge bases: nearest by cosine
-- distance through the HNSW index (embeddings_embedding_hnsw_idx, migration 0007), or ranked by
-- full-text search through embeddings_text_search_gin_idx. Hybrid search fuses the two lists in
-- Python (repositories/kb_search.py). The knowledge bases a search may read are collected first
-- into an array (an InitPlan run once), so the index scan filters each row with a cheap
-- `knowledge_base_id = ANY (...)` instead of joining, which would keep the planner from walking
-- the HNSW index in distance order. The plans are read on 5,000 chunks in
-- tests/sql/test_kb_search_recall.py (the data set of tests/sql/test_plan_contracts.py has no chunks,
-- hence no Uses line).
-- Each hit carries its source as {kind, id, name}: the file's name, the freeform text's title,
-- the table's name or the web url's url.

-- name: set_vector_search_settings :exec
-- SET LOCAL, for the rest of the transaction, in one round trip (SET takes no parameters,
-- set_config does, and PREPAREs):
-- hnsw.ef_search: how many candidates the HNSW scan keeps; more is better recall and slower.
-- hnsw.iterative_scan = relaxed_order: when rows fail the filter (another org, another knowledge
-- base), the scan goes on past ef_search candidates (up to hnsw.max_scan_tuples, 20,000 by
-- default) until the LIMIT is filled. Results may come slightly out of order, so
-- search_chunks_by_vector sorts them again.
-- enable_sort = off: the one way to the nearest chunks that sorts none of them is the walk of the
-- HNSW index, so the planner takes it. Left to its costs, it prefers a sequential scan and a sort
-- at some table sizes and ef_search values (50,000 chunks at ef_search 60 to 100, the service's
-- 100 included), because it prices a 3072-dimension distance like an addition: half a second a
-- search instead of 10 ms (bench/scenarios/vector.py). Sorting stays possible, only dearer: a
-- table without the index is still searched, and the final sort of k rows is in every plan alike.
SELECT set_config('hnsw.ef_search', %(ef_search)s::integer::text, true),
    set_config('hnsw.iterative_scan', 'relaxed_order', true),
    set_config('enable_sort', 'off', true);

-- name: search_chunks_by_vector :many
-- The k chunks nearest to the embedding (cosine distance), nearest first; score is the cosine
-- similarity, 1 - distance. knowledge_base_ids NULL: every enabled knowledge base of the org.
-- The inner query is the index scan with its LIMIT; the outer one re-sorts its k rows (the
-- relaxed order of the iterative scan) and looks up their sources.
WITH nearest AS (
    SELECT e.id, e.knowledge_base_id, e.file_id, e.freeform_text_id, e.table_id, e.web_url_id,
        e.chunk_index, e.content, e.metadata, e.embedding <=> %(embedding)s::halfvec(3072) AS distance
    FROM embeddings AS e
    WHERE e.org_id = %(org_id)s
      AND e.knowledge_base_id = ANY (ARRAY(
          SELECT kb.id FROM knowledge_bases AS kb
          WHERE kb.org_id = %(org_id)s AND kb.is_enabled
            AND (%(knowledge_base_ids)s::uuid[] IS NULL OR kb.id = ANY (%(knowledge_base_ids)s::uuid[]))
      ))
    ORDER BY e.embedding <=> %(embedding)s::halfvec(3072)
    LIMIT %(k)s
)
SELECT n.id, n.knowledge_base_id, n.chunk_index, n.content, n.metadata,
    json_build_object(
        'kind', CASE WHEN n.file_id IS NOT NULL THEN 'file'
            WHEN n.freeform_text_id IS NOT NULL THEN 'freeform_text'
            WHEN n.table_id IS NOT NULL THEN 'table'
            ELSE 'web_url' END,
        'id', coalesce(n.file_id, n.freeform_text_id, n.table_id, n.web_url_id),
        'name', coalesce(f.name, ft.title, t.name, w.url)
    ) AS source,
    (1 - n.distance)::double precision AS score
FROM nearest AS n
LEFT JOIN knowledge_base_files AS f ON f.id = n.file_id
LEFT JOIN knowledge_base_freeform_texts AS ft ON ft.id = n.freeform_text_id
LEFT JOIN knowledge_base_tables AS t ON t.id = n.table_id
LEFT JOIN knowledge_base_web_urls AS w ON w.id = n.web_url_id
ORDER BY n.distance, n.id;

-- name: search_chunks_by_text :many
-- The k chunks that best match the query text (websearch_to_tsquery syntax, English), best
-- first; score is cover density ranking (ts_rank_cd) on the stored text_search, divided by
-- 1 + log(length) so that long chunks do not win by length alone, and scaled to 0..1. A text
-- of stop words only makes an empty tsquery, which matches nothing.
WITH found AS (
    SELECT e.id, e.knowledge_base_id, e.file_id, e.freeform_text_id, e.table_id, e.web_url_id,
        e.chunk_index, e.content, e.metadata, ts_rank_cd(e.text_search, q.query, 1 | 32) AS rank
    FROM websearch_to_tsquery('english', %(query)s) AS q (query)
    JOIN embeddings AS e ON e.text_search @@ q.query
    WHERE e.org_id = %(org_id)s
      AND e.knowledge_base_id = ANY (ARRAY(
          SELECT kb.id FROM knowledge_bases AS kb
          WHERE kb.org_id = %(org_id)s AND kb.is_enabled
            AND (%(knowledge_base_ids)s::uuid[] IS NULL OR kb.id = ANY (%(knowledge_base_ids)s::uuid[]))
      ))
    ORDER BY rank DESC, e.id
    LIMIT %(k)s
)
SELECT n.id, n.knowledge_base_id, n.chunk_index, n.content, n.metadata,
    json_build_object(
        'kind', CASE WHEN n.file_id IS NOT NULL THEN 'file'
            WHEN n.freeform_text_id IS NOT NULL THEN 'freeform_text'
            WHEN n.table_id IS NOT NULL THEN 'table'
            ELSE 'web_url' END,
        'id', coalesce(n.file_id, n.freeform_text_id, n.table_id, n.web_url_id),
        'name', coalesce(f.name, ft.title, t.name, w.url)
    ) AS source,
    n.rank::double precision AS score
FROM found AS n
LEFT JOIN knowledge_base_files AS f ON f.id = n.file_id
LEFT JOIN knowledge_base_freeform_texts AS ft ON ft.id = n.freeform_text_id
LEFT JOIN knowledge_base_tables AS t ON t.id = n.table_id
LEFT JOIN knowledge_base_web_urls AS w ON w.id = n.web_url_id
ORDER BY n.rank DESC, n.id;
