-- Threads: a user's conversations in an org. Every query filters by org_id and user_id, so another
-- org's or another user's thread is not found. message_count and last_message_at are written only
-- under the thread's row lock, by the appends and deletes of messages.

-- name: list_threads :many
-- A user's threads in the org, newest first, optionally of one agent; the page is
-- (page - 1) * page_size, and the first keyset page is offset 0.
-- uses: threads_user_id_created_at_idx
-- never: Seq Scan
SELECT id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at
FROM threads
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: list_threads_counted :many
-- An offset page of list_threads, each row carrying how many threads the filters match in all: the
-- page and its total in one statement (the count is an InitPlan, run once). A page past the end has
-- no row to carry the total; count_threads counts it then.
-- uses: threads_user_id_created_at_idx
-- never: Seq Scan
SELECT id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at,
    (SELECT count(*)
     FROM threads
     WHERE org_id = %(org_id)s AND user_id = %(user_id)s
       AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)) AS total
FROM threads
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_threads :scalar
-- How many threads list_threads would return in all (for a page past the end of list_threads_counted).
-- uses: threads_user_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM threads
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid);

-- name: list_threads_after :many
-- The keyset page of list_threads after the position (created_at, id) of the last thread of the
-- previous page. The position is an index condition, so page 10,000 costs what page 1 does.
-- uses: threads_user_id_created_at_idx
-- never: Seq Scan
SELECT id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at
FROM threads
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
  AND (created_at, id) < (%(after_created_at)s::timestamptz, %(after_id)s::uuid)
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: search_threads :many
-- list_threads for the threads whose name matches a LIKE pattern, in any case. A user has few
-- threads next to the table, so the user's index range with the pattern as a filter serves it
-- (or the org's, for a user who holds most of the org's threads).
-- never: Seq Scan on threads
SELECT id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at
FROM threads
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
  AND name ILIKE %(pattern)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: search_threads_counted :many
-- An offset page of search_threads, each row carrying how many threads match in all, as
-- list_threads_counted does; count_threads_matching counts a page past the end.
-- never: Seq Scan on threads
SELECT id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at,
    (SELECT count(*)
     FROM threads
     WHERE org_id = %(org_id)s AND user_id = %(user_id)s
       AND name ILIKE %(pattern)s
       AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)) AS total
FROM threads
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
  AND name ILIKE %(pattern)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_threads_matching :scalar
-- How many threads search_threads would return in all (for a page past the end of search_threads_counted).
-- never: Seq Scan on threads
SELECT count(*)
FROM threads
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
  AND name ILIKE %(pattern)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid);

-- name: search_threads_after :many
-- The keyset page of search_threads after the position (created_at, id).
-- never: Seq Scan on threads
SELECT id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at
FROM threads
WHERE org_id = %(org_id)s AND user_id = %(user_id)s
  AND (created_at, id) < (%(after_created_at)s::timestamptz, %(after_id)s::uuid)
  AND name ILIKE %(pattern)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: get_thread :one
-- A thread of the user in the org.
-- uses: threads_pkey
-- never: Seq Scan
SELECT id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at
FROM threads
WHERE id = %(thread_id)s AND org_id = %(org_id)s AND user_id = %(user_id)s;

-- name: get_thread_for_update :one
-- A thread of the user in the org, locked until the transaction ends: writes to its messages take turns.
-- uses: threads_pkey
-- never: Seq Scan
SELECT id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at
FROM threads
WHERE id = %(thread_id)s AND org_id = %(org_id)s AND user_id = %(user_id)s
FOR UPDATE;

-- name: create_thread :one
-- Start a thread for the user. An agent_id that is not an agent of the org fails threads_agent_id_fkey.
INSERT INTO threads (org_id, user_id, agent_id, name, metadata)
VALUES (%(org_id)s, %(user_id)s, %(agent_id)s, %(name)s, %(metadata)s::jsonb)
RETURNING id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at;

-- name: update_thread :one
-- Change some fields of a thread of the user, in one statement: a null name, is_archived or
-- metadata keeps the value (the API refuses nulls for them); agent_id is written only when
-- set_agent_id, so that null can clear it. No row when there is no such thread.
-- uses: threads_pkey
-- never: Seq Scan
UPDATE threads
SET name = coalesce(%(name)s::text, name),
    agent_id = CASE WHEN %(set_agent_id)s::boolean THEN %(agent_id)s::uuid ELSE agent_id END,
    is_archived = coalesce(%(is_archived)s::boolean, is_archived),
    metadata = coalesce(%(metadata)s::jsonb, metadata),
    updated_at = now()
WHERE id = %(thread_id)s AND org_id = %(org_id)s AND user_id = %(user_id)s
RETURNING id, org_id, user_id, agent_id, name, message_count, last_message_at, is_archived, metadata,
    created_at, updated_at;

-- name: delete_thread :execrows
-- Delete a thread of the user, with its messages and their feedback (the foreign keys cascade).
-- uses: threads_pkey
-- never: Seq Scan
DELETE FROM threads
WHERE id = %(thread_id)s AND org_id = %(org_id)s AND user_id = %(user_id)s;

-- name: remove_thread_messages :execrows
-- After deleting messages of a thread locked by get_thread_for_update: count them off and move
-- last_message_at to the newest message left.
-- uses: threads_pkey, messages_thread_id_created_at_idx
-- never: Seq Scan
UPDATE threads
SET message_count = message_count - %(count)s,
    last_message_at = (
        -- thread_id alone: messages_thread_id_fkey keeps a thread's messages in its org.
        SELECT max(m.created_at) FROM messages AS m WHERE m.thread_id = threads.id
    ),
    updated_at = now()
WHERE id = %(thread_id)s AND org_id = %(org_id)s;
