-- Personas: a reusable name, prompt, tone and style (jsonb) that agents take on. Every query
-- filters by org_id: another org's persona is not found.

-- name: list_personas :many
-- The org's personas, newest first; the page is (page - 1) * page_size.
-- uses: personas_org_id_created_at_idx
-- never: Seq Scan
SELECT id, org_id, name, description, prompt, style, avatar_url, created_at, updated_at
FROM personas
WHERE org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_personas :scalar
-- How many personas list_personas would return in all: an index-only count.
-- uses: personas_org_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM personas
WHERE org_id = %(org_id)s;

-- name: get_persona :one
-- A persona of the org.
-- uses: personas_pkey
-- never: Seq Scan
SELECT id, org_id, name, description, prompt, style, avatar_url, created_at, updated_at
FROM personas
WHERE id = %(persona_id)s AND org_id = %(org_id)s;

-- name: get_persona_for_update :one
-- A persona of the org, locked until the transaction ends: a partial change reads, merges and
-- writes it without losing a concurrent one.
-- uses: personas_pkey
-- never: Seq Scan
SELECT id, org_id, name, description, prompt, style, avatar_url, created_at, updated_at
FROM personas
WHERE id = %(persona_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_persona :one
-- Insert a persona; style is a JSON object (personas_style_check).
INSERT INTO personas (org_id, name, description, prompt, style, avatar_url)
VALUES (%(org_id)s, %(name)s, %(description)s, %(prompt)s, %(style)s::jsonb, %(avatar_url)s)
RETURNING id, org_id, name, description, prompt, style, avatar_url, created_at, updated_at;

-- name: update_persona :one
-- Write every field of a persona of the org (the caller merged the change into the locked row);
-- no row when there is no such persona.
-- uses: personas_pkey
-- never: Seq Scan
UPDATE personas
SET name = %(name)s,
    description = %(description)s,
    prompt = %(prompt)s,
    style = %(style)s::jsonb,
    avatar_url = %(avatar_url)s,
    updated_at = now()
WHERE id = %(persona_id)s AND org_id = %(org_id)s
RETURNING id, org_id, name, description, prompt, style, avatar_url, created_at, updated_at;

-- name: delete_persona :execrows
-- Delete a persona of the org: 1, or 0 when there is none. A persona that agents still use is
-- refused by agents_persona_id_fkey.
-- uses: personas_pkey
-- never: Seq Scan
DELETE FROM personas
WHERE id = %(persona_id)s AND org_id = %(org_id)s;
