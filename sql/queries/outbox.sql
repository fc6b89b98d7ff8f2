-- The outbox of mail to send (invitations, password resets), and its delivery.

-- name: create_outbox_email :one
-- Queue a message; it is sent after the transaction that queued it commits, or never.
INSERT INTO email_outbox (kind, to_email, subject, body)
VALUES (%(kind)s, %(to_email)s, %(subject)s, %(body)s)
RETURNING id, kind, to_email, subject, body, created_at, attempts, last_error, sent_at;

-- name: claim_unsent_emails :many
-- The oldest unsent messages, locked so that two senders never send one twice; the lock holds
-- until the sender's transaction ends.
-- Uses email_outbox_unsent_idx.
SELECT id, kind, to_email, subject, body, created_at, attempts, last_error, sent_at
FROM email_outbox
WHERE sent_at IS NULL AND attempts < %(max_attempts)s
ORDER BY created_at, id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: mark_email_sent :exec
-- Record a delivered message.
UPDATE email_outbox
SET sent_at = now(), attempts = attempts + 1, last_error = NULL
WHERE id = %(email_id)s;

-- name: mark_email_failed :exec
-- Record a failed attempt; the message is retried until it reaches the attempt limit.
UPDATE email_outbox
SET attempts = attempts + 1, last_error = %(error)s
WHERE id = %(email_id)s;
