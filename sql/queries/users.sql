-- Users: registration, sign-in lookups and platform administration.

-- name: create_user :one
-- Insert a user; the unique email (citext: any case) and username answer 409 through the error mapping.
INSERT INTO users (
    email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, password_hash, role, provider, is_email_verified
)
VALUES (
    %(email)s, %(username)s, %(first_name)s, %(last_name)s, %(display_name)s, %(avatar_url)s, %(github_id)s,
    %(github_username)s, %(google_id)s, %(password_hash)s, %(role)s, %(provider)s, %(is_email_verified)s
)
RETURNING id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at;

-- name: get_user :one
-- A user by id.
-- uses: users_pkey
-- never: Seq Scan
SELECT id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at
FROM users
WHERE id = %(user_id)s;

-- name: get_user_by_email :one
-- A user by email, in any case.
-- uses: users_email_key
-- never: Seq Scan
SELECT id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at
FROM users
WHERE email = %(email)s::citext;

-- name: get_user_credentials_by_email :one
-- What sign-in checks, by email in any case.
-- uses: users_email_key
-- never: Seq Scan
SELECT id, password_hash, is_disabled
FROM users
WHERE email = %(email)s::citext;

-- name: update_user_password_hash :execrows
-- Store a new password hash: a changed password, or a bcrypt hash upgraded to argon2id.
UPDATE users
SET password_hash = %(password_hash)s, updated_at = now()
WHERE id = %(user_id)s;

-- name: list_users :many
-- Users by email, optionally those whose email or username matches a LIKE pattern (any case).
SELECT id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at
FROM users
WHERE %(pattern)s::text IS NULL
   OR email ILIKE %(pattern)s::text
   OR username ILIKE %(pattern)s::text
ORDER BY email, id
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_users :scalar
-- How many users list_users would return in all.
SELECT count(*)
FROM users
WHERE %(pattern)s::text IS NULL
   OR email ILIKE %(pattern)s::text
   OR username ILIKE %(pattern)s::text;

-- name: update_user_admin_fields :one
-- Change a user's platform role or disabled flag; a null parameter leaves the field as it is.
UPDATE users
SET role = coalesce(%(role)s, role),
    is_disabled = coalesce(%(is_disabled)s, is_disabled),
    updated_at = now()
WHERE id = %(user_id)s
RETURNING id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at;

-- name: get_user_by_github_id :one
-- A user by their GitHub account id: OAuth sign-in of a user imported with a GitHub id but no
-- oauth_connections row yet.
-- uses: users_github_id_key
-- never: Seq Scan
SELECT id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at
FROM users
WHERE github_id = %(github_id)s;

-- name: get_user_by_google_id :one
-- A user by their Google account id: OAuth sign-in of a user imported with a Google id but no
-- oauth_connections row yet.
-- uses: users_google_id_key
-- never: Seq Scan
SELECT id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at
FROM users
WHERE google_id = %(google_id)s;

-- name: update_user_github_identity :one
-- Record the GitHub account a signed-in user linked; the most recently linked one wins. Another
-- user with the same github_id answers 409 through the error mapping.
UPDATE users
SET github_id = %(github_id)s, github_username = %(github_username)s, updated_at = now()
WHERE id = %(user_id)s
RETURNING id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at;

-- name: update_user_google_id :one
-- Record the Google account a signed-in user linked; the most recently linked one wins. Another
-- user with the same google_id answers 409 through the error mapping.
UPDATE users
SET google_id = %(google_id)s, updated_at = now()
WHERE id = %(user_id)s
RETURNING id, email, username, first_name, last_name, display_name, avatar_url, github_id, github_username,
    google_id, role, provider, is_email_verified, is_disabled, created_at, updated_at;
