-- Feedback: a user's rating of a message in one of their own threads; one per user and message.

-- name: upsert_feedback :one
-- Rate a message of one of the user's threads in the org; a second rating replaces the first.
-- No row when the message is not in one of the user's threads. The thread id comes back so that
-- the caller can invalidate the thread's cached messages.
-- uses: messages_pkey
-- never: Seq Scan
WITH target AS (
    SELECT m.id, m.org_id, m.thread_id
    FROM messages AS m
    JOIN threads AS t ON t.id = m.thread_id AND t.org_id = m.org_id
    WHERE m.id = %(message_id)s AND m.org_id = %(org_id)s AND t.user_id = %(user_id)s
), saved AS (
    INSERT INTO feedback (org_id, message_id, user_id, rating, comment)
    SELECT target.org_id, target.id, %(user_id)s, %(rating)s, %(comment)s
    FROM target
    ON CONFLICT (message_id, user_id, org_id) DO UPDATE
    SET rating = excluded.rating, comment = excluded.comment, updated_at = now()
    RETURNING id, org_id, message_id, user_id, rating, comment, created_at, updated_at
)
SELECT saved.id, saved.org_id, saved.message_id, target.thread_id, saved.user_id, saved.rating, saved.comment,
    saved.created_at, saved.updated_at
FROM saved
JOIN target ON target.id = saved.message_id;

-- name: delete_feedback :scalar
-- Withdraw the user's feedback on a message of one of their threads in the org: the message's
-- thread id, or null when there was no such feedback.
-- uses: feedback_message_id_user_id_org_id_key, messages_pkey
-- never: Seq Scan
DELETE FROM feedback AS f
USING messages AS m, threads AS t
WHERE f.message_id = %(message_id)s AND f.user_id = %(user_id)s AND f.org_id = %(org_id)s
  AND m.id = f.message_id AND m.org_id = f.org_id
  AND t.id = m.thread_id AND t.org_id = m.org_id AND t.user_id = %(user_id)s
RETURNING m.thread_id;
