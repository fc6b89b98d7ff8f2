-- Full-text search over the messages of a user's threads in an org. The query text is parsed by
-- websearch_to_tsquery ("quoted phrases", or, -not); a text of stop words only makes an empty
-- tsquery, which matches nothing. Matches are found through messages_text_content_gin_idx and
-- ranked on the stored text_search column, so no row's to_tsvector is recomputed. The service
-- runs both statements unprepared (repositories/message_search.py), so their contracts hold for
-- the plan made for the values; tests/sql/test_conversation_plans.py compares common and rare terms.

-- name: search_messages :many
-- One page of the matches, best first (then newest), each with its thread's name and a snippet:
-- the message's text, HTML-escaped, cut to the best fragments around the matches, which are
-- wrapped in <mark>...</mark>. ts_headline re-parses the whole text, so it runs in the outer
-- query on the rows of the page only; the inner query's LIMIT keeps it from being merged into the
-- outer one. Cover density ranking (ts_rank_cd), divided by 1 + log(length) so that long messages
-- do not win by length alone, and scaled to 0..1. Every row carries the total of the matches: the
-- ranking reads them all anyway, and the window count is taken before the LIMIT, so a page costs
-- one search instead of two (a common word over 1M messages: about 100 ms instead of 190 ms,
-- bench/scenarios/fulltext.py).
-- uses: messages_text_content_gin_idx
-- never: Seq Scan on messages
-- plan: custom
WITH found AS (
    SELECT m.id, m.thread_id, t.name AS thread_name, t.agent_id, m.role, m.created_at, m.text_content,
        ts_rank_cd(m.text_search, q.query, 1 | 32) AS rank, q.query, count(*) OVER () AS total
    FROM websearch_to_tsquery('english', %(q)s) AS q (query)
    JOIN messages AS m ON m.text_search @@ q.query
    JOIN threads AS t ON t.id = m.thread_id AND t.org_id = m.org_id
    WHERE m.org_id = %(org_id)s AND t.org_id = %(org_id)s AND t.user_id = %(user_id)s
      AND (%(thread_id)s::uuid IS NULL OR m.thread_id = %(thread_id)s::uuid)
      AND (%(agent_id)s::uuid IS NULL OR t.agent_id = %(agent_id)s::uuid)
    ORDER BY rank DESC, m.created_at DESC, m.id DESC
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT id, thread_id, thread_name, agent_id, role, created_at, rank, total,
    ts_headline(
        'english',
        replace(replace(replace(text_content, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
        query,
        'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "'
    ) AS snippet
FROM found
ORDER BY rank DESC, created_at DESC, id DESC;

-- name: count_message_matches :scalar
-- How many messages search_messages finds in all: for a page past the last, whose rows cannot
-- carry the total.
-- uses: messages_text_content_gin_idx
-- never: Seq Scan on messages
-- plan: custom
SELECT count(*)
FROM websearch_to_tsquery('english', %(q)s) AS q (query)
JOIN messages AS m ON m.text_search @@ q.query
JOIN threads AS t ON t.id = m.thread_id AND t.org_id = m.org_id
WHERE m.org_id = %(org_id)s AND t.org_id = %(org_id)s AND t.user_id = %(user_id)s
  AND (%(thread_id)s::uuid IS NULL OR m.thread_id = %(thread_id)s::uuid)
  AND (%(agent_id)s::uuid IS NULL OR t.agent_id = %(agent_id)s::uuid);
