-- Knowledge bases: the org's stores of sources whose chunks agents search (the RAG store). Every
-- query filters by org_id: another org's knowledge base is not found. Their sources are in
-- knowledge_base_sources.sql; deleting a knowledge base deletes them and their embeddings by cascade.

-- name: list_knowledge_bases :many
-- The org's knowledge bases, newest first; the page is (page - 1) * page_size.
-- uses: knowledge_bases_org_id_created_at_idx
-- never: Seq Scan
SELECT id, org_id, name, description, embedding_model, is_enabled, created_at, updated_at
FROM knowledge_bases
WHERE org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_knowledge_bases :scalar
-- How many knowledge bases list_knowledge_bases would return in all.
-- uses: knowledge_bases_org_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM knowledge_bases
WHERE org_id = %(org_id)s;

-- name: get_knowledge_base :one
-- A knowledge base of the org.
-- uses: knowledge_bases_pkey
-- never: Seq Scan
SELECT id, org_id, name, description, embedding_model, is_enabled, created_at, updated_at
FROM knowledge_bases
WHERE id = %(knowledge_base_id)s AND org_id = %(org_id)s;

-- name: get_knowledge_base_for_update :one
-- A knowledge base of the org, locked until the transaction ends: a partial change merges into it
-- without losing a concurrent one, and while it is being deleted no agent can be given it (adding
-- it to agent_knowledge_bases takes a key-share lock on this row, which waits).
-- uses: knowledge_bases_pkey
-- never: Seq Scan
SELECT id, org_id, name, description, embedding_model, is_enabled, created_at, updated_at
FROM knowledge_bases
WHERE id = %(knowledge_base_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_knowledge_base :one
-- Insert a knowledge base of the org.
INSERT INTO knowledge_bases (org_id, name, description, embedding_model, is_enabled)
VALUES (%(org_id)s, %(name)s, %(description)s, %(embedding_model)s, %(is_enabled)s)
RETURNING id, org_id, name, description, embedding_model, is_enabled, created_at, updated_at;

-- name: update_knowledge_base :one
-- Write every field of a knowledge base of the org (the caller merged the change into the locked
-- row); no row when there is no such knowledge base.
-- uses: knowledge_bases_pkey
-- never: Seq Scan
UPDATE knowledge_bases
SET name = %(name)s,
    description = %(description)s,
    embedding_model = %(embedding_model)s,
    is_enabled = %(is_enabled)s,
    updated_at = now()
WHERE id = %(knowledge_base_id)s AND org_id = %(org_id)s
RETURNING id, org_id, name, description, embedding_model, is_enabled, created_at, updated_at;

-- name: delete_knowledge_base :execrows
-- Delete a knowledge base of the org with its sources and their embeddings (cascade): 1, or 0 when
-- there is none. Call after taking it off its agents
-- (repositories.agents.remove_knowledge_base_from_agents), so each of them gets a new version.
-- uses: knowledge_bases_pkey
-- never: Seq Scan
DELETE FROM knowledge_bases
WHERE id = %(knowledge_base_id)s AND org_id = %(org_id)s;
