-- Orgs and their members.

-- name: get_default_org_for_update :one
-- The default org, locked until the transaction ends: registrations take turns on it, so that
-- exactly one of them is the installation's first user.
SELECT id, name, slug, is_default, created_at, updated_at
FROM orgs
WHERE is_default
FOR UPDATE;

-- name: create_org_member :one
-- Add a user to an org with a role; a second row for the same pair is a 409.
INSERT INTO org_members (org_id, user_id, role)
VALUES (%(org_id)s, %(user_id)s, %(role)s)
RETURNING org_id, user_id, role, created_at;

-- name: get_org_access :one
-- An org and the user's role in it (null when not a member); no row when the org does not exist.
-- Runs on every tenant request: orgs_pkey, then the org_members primary key.
SELECT o.id AS org_id, m.role
FROM orgs AS o
LEFT JOIN org_members AS m ON m.org_id = o.id AND m.user_id = %(user_id)s
WHERE o.id = %(org_id)s;

-- name: get_home_org_access :one
-- The org a user works in when a request names none: the default org if they belong to it,
-- else the org they joined first (org_members_user_id_idx).
SELECT m.org_id, m.role
FROM org_members AS m
JOIN orgs AS o ON o.id = m.org_id
WHERE m.user_id = %(user_id)s
ORDER BY o.is_default DESC, m.created_at, m.org_id
LIMIT 1;
