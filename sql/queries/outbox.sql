-- The outbox of mail to send (invitations, password resets), and its delivery.

-- name: create_outbox_email :one
-- Queue a message; it is sent after the transaction that queued it commits, or never. The id
-- comes from the service: the encrypted body is bound to it.
INSERT INTO email_outbox (id, kind, to_email, subject, body)
VALUES (%(email_id)s, %(kind)s, %(to_email)s, %(subject)s, %(body)s)
RETURNING id, kind, to_email, subject, body, created_at, attempts, last_error, sent_at;

-- name: claim_next_email :one
-- Take the message that is due longest and lease it for lease_seconds: no other sender takes it
-- while this one sends, with no transaction held open meanwhile. The lease outlives the slowest send
-- (services/mail.py sums its SMTP timeouts), so a message is handed to SMTP by one sender at a time;
-- one whose sender dies mid-send is retried when the lease ends: sent at least once, never lost.
-- uses: email_outbox_unsent_idx
-- never: Seq Scan
UPDATE email_outbox
SET attempts = attempts + 1,
    next_attempt_at = now() + make_interval(secs => %(lease_seconds)s::double precision)
WHERE id = (
    SELECT id
    FROM email_outbox
    WHERE sent_at IS NULL AND attempts < %(max_attempts)s AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, to_email, subject, body, created_at, attempts, last_error, sent_at;

-- name: mark_email_sent :exec
-- Record a delivered message.
UPDATE email_outbox
SET sent_at = now(), last_error = NULL
WHERE id = %(email_id)s;

-- name: mark_email_failed :exec
-- Record why an attempt failed, and wait before the next one by a backoff that doubles with each
-- attempt (10 s, 20 s, ... at most an hour), counted from the failure rather than the claim.
UPDATE email_outbox
SET last_error = %(error)s,
    next_attempt_at = now() + least(interval '1 hour', interval '10 seconds' * power(2, attempts - 1))
WHERE id = %(email_id)s;

-- name: abandon_email :exec
-- Give up on a message that can never be sent (its body no longer decrypts).
UPDATE email_outbox
SET last_error = %(error)s, attempts = %(max_attempts)s
WHERE id = %(email_id)s;

-- name: count_outbox_backlog :scalar
-- Mail still to send for /metrics: unsent, with attempts left (abandoned mail is not a backlog), through
-- the partial index of unsent mail. Run under a short statement timeout (web/metrics.py).
-- uses: email_outbox_unsent_idx
-- never: Seq Scan
SELECT count(*) AS backlog
FROM email_outbox
WHERE sent_at IS NULL AND attempts < %(max_attempts)s;
