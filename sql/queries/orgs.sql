-- Orgs and their members.

-- name: create_org_member :one
-- Add a user to an org with a role; a second row for the same pair is a 409.
INSERT INTO org_members (org_id, user_id, role)
VALUES (%(org_id)s, %(user_id)s, %(role)s)
RETURNING org_id, user_id, role, created_at;

-- name: get_org_access :one
-- An org and the user's role in it (null when not a member); no row when the org does not exist.
-- Runs on every tenant request: one probe of each index.
-- uses: orgs_pkey, org_members_user_id_idx
-- never: Seq Scan
SELECT o.id AS org_id, m.role
FROM orgs AS o
LEFT JOIN org_members AS m ON m.org_id = o.id AND m.user_id = %(user_id)s
WHERE o.id = %(org_id)s;

-- name: list_orgs_for_user :many
-- The orgs a user belongs to, with their role in each, by name; the page is (page - 1) * page_size.
-- The user's memberships come from the index on (user_id, org_id), each org by its primary key.
-- uses: org_members_user_id_idx, orgs_pkey
-- never: Seq Scan
SELECT o.id, o.name, o.slug, o.is_default, o.created_at, o.updated_at, m.role
FROM org_members AS m
JOIN orgs AS o ON o.id = m.org_id
WHERE m.user_id = %(user_id)s
ORDER BY o.name, o.id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_orgs_for_user :scalar
-- How many orgs list_orgs_for_user would return in all: an index-only count.
-- uses: org_members_user_id_idx
-- never: Seq Scan
SELECT count(*)
FROM org_members
WHERE user_id = %(user_id)s;

-- name: get_org :one
-- An org by id.
-- uses: orgs_pkey
-- never: Seq Scan
SELECT id, name, slug, is_default, created_at, updated_at
FROM orgs
WHERE id = %(org_id)s;

-- name: get_org_by_slug :one
-- An org by its slug (operator commands name orgs so).
-- uses: orgs_slug_key
-- never: Seq Scan
SELECT id, name, slug, is_default, created_at, updated_at
FROM orgs
WHERE slug = %(slug)s;

-- name: create_org :one
-- Insert an org; a slug already taken answers 409 naming slug (orgs_slug_key).
INSERT INTO orgs (name, slug)
VALUES (%(name)s, %(slug)s)
RETURNING id, name, slug, is_default, created_at, updated_at;

-- name: update_org :one
-- Rename an org or change its slug; a null parameter leaves the field as it is. No row when the
-- org does not exist.
-- uses: orgs_pkey
-- never: Seq Scan
UPDATE orgs
SET name = coalesce(%(name)s, name),
    slug = coalesce(%(slug)s, slug),
    updated_at = now()
WHERE id = %(org_id)s
RETURNING id, name, slug, is_default, created_at, updated_at;

-- name: delete_org :execrows
-- Delete an org with its members and invitations (ON DELETE CASCADE). The default org is never
-- deleted, even when the caller's check raced with a change: then no row is deleted.
-- uses: orgs_pkey
-- never: Seq Scan
DELETE FROM orgs
WHERE id = %(org_id)s AND NOT is_default;

-- name: list_org_members :many
-- An org's members with who they are, by email; the page is (page - 1) * page_size.
-- The org's memberships come from the primary key (org_id, user_id), each user by theirs.
-- uses: org_members_pkey
-- never: Seq Scan on org_members
SELECT m.org_id, m.user_id, u.email, u.username, u.first_name, u.last_name, u.display_name, u.avatar_url,
    m.role, m.created_at
FROM org_members AS m
JOIN users AS u ON u.id = m.user_id
WHERE m.org_id = %(org_id)s
ORDER BY u.email, m.user_id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_org_members :scalar
-- How many members list_org_members would return in all: an index-only count.
-- uses: org_members_pkey
-- never: Seq Scan
SELECT count(*)
FROM org_members
WHERE org_id = %(org_id)s;

-- name: lock_org_owners :scalar
-- The ids of an org's owners, their rows locked until the transaction ends. Every change that
-- could remove an owner takes these locks first, in user_id order (so two such changes never
-- deadlock), and the second waits for the first and then sees its result: two owners cannot
-- demote or remove each other at once and leave the org without one.
-- uses: org_members_pkey
-- never: Seq Scan
SELECT coalesce(array_agg(owners.user_id ORDER BY owners.user_id), '{}'::uuid[])
FROM (
    SELECT user_id
    FROM org_members
    WHERE org_id = %(org_id)s AND role = 'owner'
    ORDER BY user_id
    FOR UPDATE
) AS owners;

-- name: get_org_member_for_update :one
-- One membership, locked until the transaction ends; no row when the user is not a member.
-- Both keys of org_members hold the exact pair; the planner takes the (user_id, org_id) one.
-- uses: org_members_user_id_idx
-- never: Seq Scan
SELECT org_id, user_id, role, created_at
FROM org_members
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
FOR UPDATE;

-- name: update_org_member_role :one
-- Give a member another role; returns the member as list_org_members shows them, no row when
-- the user is not a member. The pair is found as in get_org_member_for_update.
-- uses: org_members_user_id_idx, users_pkey
-- never: Seq Scan
UPDATE org_members AS m
SET role = %(role)s
FROM users AS u
WHERE m.org_id = %(org_id)s AND m.user_id = %(user_id)s AND u.id = m.user_id
RETURNING m.org_id, m.user_id, u.email, u.username, u.first_name, u.last_name, u.display_name, u.avatar_url,
    m.role, m.created_at;

-- name: delete_org_member :execrows
-- Remove a user from an org: 1, or 0 when they were not a member. The pair is found as in
-- get_org_member_for_update.
-- uses: org_members_user_id_idx
-- never: Seq Scan
DELETE FROM org_members
WHERE org_id = %(org_id)s AND user_id = %(user_id)s;

-- name: add_org_member :one
-- Add a user to an org unless they already belong to it: no row then, instead of an error, so
-- that the caller can say so in its own words.
INSERT INTO org_members (org_id, user_id, role)
VALUES (%(org_id)s, %(user_id)s, %(role)s)
ON CONFLICT (org_id, user_id) DO NOTHING
RETURNING org_id, user_id, role, created_at;

-- name: has_org_member_with_email :scalar
-- Whether the user with this email (any case) already belongs to the org: the user by email,
-- then an index-only probe for the pair.
-- uses: users_email_key
-- never: Seq Scan
SELECT EXISTS (
    SELECT 1
    FROM users AS u
    JOIN org_members AS m ON m.org_id = %(org_id)s AND m.user_id = u.id
    WHERE u.email = %(email)s::citext
);

-- name: list_org_ids :scalar
-- The ids of every org (operator commands that go over all of them).
SELECT coalesce(array_agg(id ORDER BY id), '{}')
FROM orgs;

-- name: list_org_member_ids :scalar
-- Who belongs to the org: read before the org is deleted (under list_api_key_token_hashes's lock), so
-- that the session cache can forget what it holds of them once the delete commits.
-- uses: org_members_pkey
SELECT coalesce(array_agg(user_id ORDER BY user_id), '{}')
FROM org_members
WHERE org_id = %(org_id)s;
