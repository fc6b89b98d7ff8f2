-- Messages of a thread, oldest first, with the reader's own feedback. The caller has checked that
-- the thread is the user's; appends and deletes run under the thread's row lock (threads.sql).

-- name: get_thread_owner :scalar
-- The user whose thread this is, for an org API key with the message scopes: a key acts for the
-- whole org and reads and writes a thread as its owner's (the thread queries and the cache keys
-- name the owner). Null when the org has no such thread.
-- uses: threads_pkey
-- never: Seq Scan
SELECT user_id
FROM threads
WHERE id = %(thread_id)s AND org_id = %(org_id)s;

-- name: list_messages :many
-- The first messages of a thread, oldest first, each with the user's feedback or null.
-- uses: messages_thread_id_created_at_idx, feedback_message_id_user_id_org_id_key
-- never: Seq Scan
SELECT m.id, m.org_id, m.thread_id, m.role, m.parts, m.text_content, m.model, m.input_tokens,
    m.output_tokens, m.created_at,
    (
        SELECT jsonb_build_object('rating', f.rating, 'comment', f.comment)
        FROM feedback AS f
        WHERE f.message_id = m.id AND f.user_id = %(user_id)s
    ) AS feedback
FROM messages AS m
WHERE m.thread_id = %(thread_id)s AND m.org_id = %(org_id)s
ORDER BY m.created_at, m.id
LIMIT %(limit)s;

-- name: list_messages_after :many
-- The keyset page of list_messages after the position (created_at, id) of the last message of the
-- previous page; the position is an index condition, so a deep page costs what the first does.
-- uses: messages_thread_id_created_at_idx, feedback_message_id_user_id_org_id_key
-- never: Seq Scan
SELECT m.id, m.org_id, m.thread_id, m.role, m.parts, m.text_content, m.model, m.input_tokens,
    m.output_tokens, m.created_at,
    (
        SELECT jsonb_build_object('rating', f.rating, 'comment', f.comment)
        FROM feedback AS f
        WHERE f.message_id = m.id AND f.user_id = %(user_id)s
    ) AS feedback
FROM messages AS m
WHERE m.thread_id = %(thread_id)s AND m.org_id = %(org_id)s
  AND (m.created_at, m.id) > (%(after_created_at)s::timestamptz, %(after_id)s::uuid)
ORDER BY m.created_at, m.id
LIMIT %(limit)s;

-- name: append_messages :many
-- Append messages (a JSON array of {role, parts, text_content, model, input_tokens, output_tokens}) to a
-- thread of the user, all or none, in one statement: one round trip, atomic without a transaction
-- block. The thread's row is locked first, so appends to one thread take turns; the messages go in
-- in array order with created_at = clock_timestamp(), so it increases along the array and, under
-- the lock, across appends; then message_count counts them and last_message_at moves to the last
-- one. No rows when the user has no such thread.
-- uses: threads_pkey
-- never: Seq Scan
WITH thread AS (
    SELECT id, org_id
    FROM threads
    WHERE id = %(thread_id)s AND org_id = %(org_id)s AND user_id = %(user_id)s
    FOR UPDATE
), inserted AS (
    INSERT INTO messages (org_id, thread_id, role, parts, text_content, model, input_tokens, output_tokens)
    SELECT thread.org_id, thread.id, m.role, m.parts, m.text_content, m.model, m.input_tokens, m.output_tokens
    FROM thread, ROWS FROM (
        jsonb_to_recordset(%(messages)s::jsonb) AS (
            role text, parts jsonb, text_content text, model text, input_tokens integer, output_tokens integer
        )
    ) WITH ORDINALITY AS m (role, parts, text_content, model, input_tokens, output_tokens, position)
    ORDER BY m.position
    RETURNING id, org_id, thread_id, role, parts, text_content, model, input_tokens, output_tokens, created_at
), counted AS (
    -- The row `thread` locked: the same transaction may update it.
    UPDATE threads
    SET message_count = message_count + (SELECT count(*) FROM inserted),
        last_message_at = (SELECT max(created_at) FROM inserted),
        updated_at = now()
    WHERE id = (SELECT id FROM thread) AND org_id = %(org_id)s
)
SELECT id, org_id, thread_id, role, parts, text_content, model, input_tokens, output_tokens, created_at,
    NULL::jsonb AS feedback
FROM inserted
ORDER BY created_at, id;

-- name: delete_message :execrows
-- Delete a message of a thread (with its feedback), under the thread's lock; remove_thread_messages follows.
-- uses: messages_pkey
-- never: Seq Scan
DELETE FROM messages
WHERE id = %(message_id)s AND thread_id = %(thread_id)s AND org_id = %(org_id)s;
