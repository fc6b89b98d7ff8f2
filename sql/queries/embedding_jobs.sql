-- The embedding worker's queue (src/agentpress/services/embedder.py, with EMBEDDINGS_URL set): freeform
-- texts and tables waiting for the service to chunk and embed them. A source is claimed by one
-- statement (pending -> processing, a lease of lease_seconds counted from updated_at), embedded
-- with no transaction open, then its chunks replaced (repositories/embeddings.py) only if it is
-- still the content that was claimed; a provider failure marks it failed with the error, and a
-- client may put a failed source back to pending. The queue is small and short-lived, so the
-- claims read the source tables without an index of their own.

-- name: claim_freeform_text :one
-- Lease the oldest pending freeform text (or one whose lease of lease_seconds ran out: a worker
-- that died mid-way) by setting it processing; no row when there is none. SKIP LOCKED: concurrent
-- workers, and rows a request is changing, are passed over rather than waited for.
UPDATE knowledge_base_freeform_texts AS ft
SET status = 'processing', error = NULL, updated_at = now()
WHERE ft.id = (
    SELECT c.id
    FROM knowledge_base_freeform_texts AS c
    WHERE c.status = 'pending'
       OR (c.status = 'processing' AND c.updated_at < now() - make_interval(secs => %(lease_seconds)s::double precision))
    ORDER BY c.updated_at, c.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING ft.id, ft.org_id, ft.knowledge_base_id, ft.title, ft.content;

-- name: claim_table :one
-- As claim_freeform_text, for a table.
UPDATE knowledge_base_tables AS t
SET status = 'processing', error = NULL, updated_at = now()
WHERE t.id = (
    SELECT c.id
    FROM knowledge_base_tables AS c
    WHERE c.status = 'pending'
       OR (c.status = 'processing' AND c.updated_at < now() - make_interval(secs => %(lease_seconds)s::double precision))
    ORDER BY c.updated_at, c.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING t.id, t.org_id, t.knowledge_base_id, t.name, t.columns, t.rows;

-- name: lock_claimed_freeform_text :one
-- The claimed freeform text, locked until the transaction ends, if it is still processing the
-- content that was embedded; no row when it was changed (back to pending) or deleted meanwhile,
-- and the embeddings are thrown away.
-- uses: knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, org_id, knowledge_base_id
FROM knowledge_base_freeform_texts
WHERE id = %(source_id)s AND status = 'processing' AND content = %(content)s::text
FOR UPDATE;

-- name: lock_claimed_table :one
-- As lock_claimed_freeform_text, for a table: the same columns and rows as were embedded.
-- uses: knowledge_base_tables_id_knowledge_base_id_org_id_key
-- never: Seq Scan
SELECT id, org_id, knowledge_base_id
FROM knowledge_base_tables
WHERE id = %(source_id)s AND status = 'processing'
  AND columns = %(columns)s::jsonb AND rows = %(rows)s::jsonb
FOR UPDATE;

-- name: fail_freeform_text :execrows
-- Mark a claimed freeform text failed with the error; 0 when it was changed (back to pending) or
-- deleted meanwhile, which a failure must not undo.
-- uses: knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key
-- never: Seq Scan
UPDATE knowledge_base_freeform_texts
SET status = 'failed', error = %(error)s::text, updated_at = now()
WHERE id = %(source_id)s AND status = 'processing';

-- name: fail_table :execrows
-- As fail_freeform_text, for a table.
-- uses: knowledge_base_tables_id_knowledge_base_id_org_id_key
-- never: Seq Scan
UPDATE knowledge_base_tables
SET status = 'failed', error = %(error)s::text, updated_at = now()
WHERE id = %(source_id)s AND status = 'processing';

-- name: retry_freeform_text :one
-- Put a failed freeform text of a knowledge base of the org back to pending (error cleared), for
-- the worker to embed again; no row when there is no such text or it has not failed.
-- uses: knowledge_base_freeform_texts_id_knowledge_base_id_org_id_key
-- never: Seq Scan
UPDATE knowledge_base_freeform_texts
SET status = 'pending', error = NULL, updated_at = now()
WHERE id = %(source_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
  AND status = 'failed'
RETURNING id, knowledge_base_id, status, error, title, content, created_at, updated_at;

-- name: retry_table :one
-- As retry_freeform_text, for a table.
-- uses: knowledge_base_tables_id_knowledge_base_id_org_id_key
-- never: Seq Scan
UPDATE knowledge_base_tables
SET status = 'pending', error = NULL, updated_at = now()
WHERE id = %(source_id)s AND knowledge_base_id = %(knowledge_base_id)s AND org_id = %(org_id)s
  AND status = 'failed'
RETURNING id, knowledge_base_id, status, error, name, columns, rows, created_at, updated_at;
