-- Invitations to join an org: single-use tokens, stored as their SHA-256, valid for a week.

-- name: create_invitation :one
-- Invite an email address to an org with a role; the caller queues the mail with the token in the
-- same transaction.
INSERT INTO invitations (org_id, email, role, token_hash, invited_by, expires_at)
VALUES (%(org_id)s, %(email)s, %(role)s, %(token_hash)s, %(invited_by)s, %(expires_at)s)
RETURNING id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at;

-- name: list_invitations_for_org :many
-- An org's invitations, newest first, in every state; the page is (page - 1) * page_size.
-- uses: invitations_org_id_created_at_idx
-- never: Seq Scan
SELECT id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at
FROM invitations
WHERE org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_invitations_for_org :scalar
-- How many invitations list_invitations_for_org would return in all.
-- uses: invitations_org_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM invitations
WHERE org_id = %(org_id)s;

-- name: get_invitation :one
-- An invitation of an org by id; no row when it belongs to another org.
-- uses: invitations_pkey
-- never: Seq Scan
SELECT id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at
FROM invitations
WHERE id = %(invitation_id)s AND org_id = %(org_id)s;

-- name: revoke_invitation :one
-- Revoke an invitation that has not been accepted; revoking twice keeps the first time. No row
-- when it is another org's or already accepted.
-- uses: invitations_pkey
-- never: Seq Scan
UPDATE invitations
SET revoked_at = coalesce(revoked_at, now())
WHERE id = %(invitation_id)s AND org_id = %(org_id)s AND accepted_at IS NULL
RETURNING id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at;

-- name: claim_invitation :one
-- Accept a live invitation for this email (any case), once: one conditional statement, so of two
-- concurrent accepts the second waits for the first and then finds it accepted. No row when the
-- token is unknown, expired, revoked, already accepted or for another email.
-- uses: invitations_token_hash_key
-- never: Seq Scan
UPDATE invitations
SET accepted_at = now()
WHERE token_hash = %(token_hash)s
  AND email = %(email)s::citext
  AND accepted_at IS NULL
  AND revoked_at IS NULL
  AND expires_at > now()
RETURNING id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at;

-- name: get_live_invitation_by_token_hash :one
-- A live invitation (not expired, revoked or accepted) by its token's hash, for whatever email:
-- when claim_invitation finds nothing, this tells a token for someone else from a dead one.
-- uses: invitations_token_hash_key
-- never: Seq Scan
SELECT id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at
FROM invitations
WHERE token_hash = %(token_hash)s
  AND accepted_at IS NULL
  AND revoked_at IS NULL
  AND expires_at > now();

-- name: lock_org_and_count_pending_invitations :scalar
-- Lock the org against concurrent invitations (until the transaction ends), then count its pending
-- ones: neither accepted, revoked nor expired. FOR NO KEY UPDATE still lets members and invitations
-- reference the org meanwhile.
-- uses: orgs_pkey, invitations_org_id_created_at_idx
-- never: Seq Scan
WITH locked AS (
    SELECT id FROM orgs WHERE id = %(org_id)s FOR NO KEY UPDATE
)
SELECT count(*)
FROM invitations
JOIN locked ON locked.id = invitations.org_id
WHERE invitations.accepted_at IS NULL
  AND invitations.revoked_at IS NULL
  AND invitations.expires_at > now();

-- name: can_inviter_grant_role :scalar
-- Whether whoever sent an invitation may still grant its role in its org, as when they sent it:
-- a platform admin, an owner of the org, or for the admin role an admin of it; never a disabled or
-- deleted user (invited_by is then null). Accepting an owner or admin invitation checks it again.
-- uses: users_pkey
-- never: Seq Scan
SELECT EXISTS (
    SELECT 1
    FROM users
    LEFT JOIN org_members ON org_members.org_id = %(org_id)s AND org_members.user_id = users.id
    WHERE users.id = %(inviter_id)s
      AND NOT users.is_disabled
      AND (
          users.role = 'admin'
          OR org_members.role = 'owner'
          OR (org_members.role = 'admin' AND %(role)s::text = 'admin')
      )
);
