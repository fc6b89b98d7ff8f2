-- name: update_file_source_ready :one
-- Marks a file source ready (error cleared) and locks its row until the caller's transaction ends:
-- the first statement of a chunk replacement, so concurrent replacements of one source queue here.
-- org_id NULL skips the org check (the operator CLI); the API always passes the caller's org.
UPDATE knowledge_base_files
SET status = 'ready', error = NULL, updated_at = now()
WHERE id = %(source_id)s
  AND knowledge_base_id = %(knowledge_base_id)s
  AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
RETURNING id, org_id, knowledge_base_id, status;

-- name: update_freeform_text_source_ready :one
-- As update_file_source_ready, for a freeform text.
UPDATE knowledge_base_freeform_texts
SET status = 'ready', error = NULL, updated_at = now()
WHERE id = %(source_id)s
  AND knowledge_base_id = %(knowledge_base_id)s
  AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
RETURNING id, org_id, knowledge_base_id, status;

-- name: update_table_source_ready :one
-- As update_file_source_ready, for a table.
UPDATE knowledge_base_tables
SET status = 'ready', error = NULL, updated_at = now()
WHERE id = %(source_id)s
  AND knowledge_base_id = %(knowledge_base_id)s
  AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
RETURNING id, org_id, knowledge_base_id, status;

-- name: update_web_url_source_ready :one
-- As update_file_source_ready, for a web URL.
UPDATE knowledge_base_web_urls
SET status = 'ready', error = NULL, updated_at = now()
WHERE id = %(source_id)s
  AND knowledge_base_id = %(knowledge_base_id)s
  AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
RETURNING id, org_id, knowledge_base_id, status;

-- name: delete_file_embeddings :execrows
-- Every chunk of a file source, before its new chunks are copied in (same transaction).
-- Served by embeddings_file_id_chunk_index_org_id_idx (the plan test cannot hold it until its seed has embeddings).
DELETE FROM embeddings
WHERE file_id = %(source_id)s;

-- name: delete_freeform_text_embeddings :execrows
-- Every chunk of a freeform text source, before its new chunks are copied in (same transaction).
-- Served by embeddings_freeform_text_id_chunk_index_org_id_idx (the plan test cannot hold it until its seed has embeddings).
DELETE FROM embeddings
WHERE freeform_text_id = %(source_id)s;

-- name: delete_table_embeddings :execrows
-- Every chunk of a table source, before its new chunks are copied in (same transaction).
-- Served by embeddings_table_id_chunk_index_org_id_idx (the plan test cannot hold it until its seed has embeddings).
DELETE FROM embeddings
WHERE table_id = %(source_id)s;

-- name: delete_web_url_embeddings :execrows
-- Every chunk of a web URL source, before its new chunks are copied in (same transaction).
-- Served by embeddings_web_url_id_chunk_index_org_id_idx (the plan test cannot hold it until its seed has embeddings).
DELETE FROM embeddings
WHERE web_url_id = %(source_id)s;

-- name: copy_embeddings :copy
-- Streamed, not executed: repositories/embeddings.py writes the rows in binary (halfvec in pgvector's
-- binary format), one of the four source columns set per row. id, text_search and created_at take
-- their defaults.
COPY embeddings (
    org_id, knowledge_base_id, file_id, freeform_text_id, table_id, web_url_id,
    chunk_index, content, embedding, metadata
)
FROM STDIN (FORMAT BINARY);
