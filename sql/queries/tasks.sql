-- Tasks: one execution of an agent with an input, handed to workers through a leased queue. Every
-- transition is one conditional UPDATE ... RETURNING, so two workers racing for a task are decided
-- by the database: the loser gets no row. The queue statements take a nullable org_id: the REST
-- API always passes the caller's org, the `agentpress worker` operator tool passes NULL for all.
-- A claim hands out a random lease token per task and keeps only its SHA-256 (lease_token_hash):
-- heartbeat, complete and fail must present it, so only the attempt the claim started can finish
-- (a restarted worker of the same worker_id cannot finish its predecessor's); claimed_by, the
-- worker_id, is a label for people.

-- name: list_tasks :many
-- The org's tasks, newest first, optionally only of one status, agent and schedule, and only those
-- created by one user (what a member sees); the page is (page - 1) * page_size.
-- uses: tasks_org_id_queued_at_idx
-- never: Seq Scan
SELECT id, org_id, agent_id, schedule_id, thread_id, status, input, output, error, attempt, max_attempts,
       priority, run_after, claimed_by, lease_expires_at, queued_at, started_at, finished_at, created_by
FROM tasks
WHERE org_id = %(org_id)s
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
  AND (%(schedule_id)s::uuid IS NULL OR schedule_id = %(schedule_id)s::uuid)
  AND (%(created_by)s::uuid IS NULL OR created_by = %(created_by)s::uuid)
ORDER BY queued_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_tasks :scalar
-- How many tasks list_tasks would return in all.
-- uses: tasks_org_id_queued_at_idx
-- never: Seq Scan
SELECT count(*)
FROM tasks
WHERE org_id = %(org_id)s
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
  AND (%(schedule_id)s::uuid IS NULL OR schedule_id = %(schedule_id)s::uuid)
  AND (%(created_by)s::uuid IS NULL OR created_by = %(created_by)s::uuid);

-- name: get_task :one
-- A task of the org.
-- uses: tasks_pkey
-- never: Seq Scan
SELECT id, org_id, agent_id, schedule_id, thread_id, status, input, output, error, attempt, max_attempts,
       priority, run_after, claimed_by, lease_expires_at, queued_at, started_at, finished_at, created_by
FROM tasks
WHERE id = %(task_id)s AND org_id = %(org_id)s;

-- name: create_task :one
-- Queue a task; run_after null means now. No row when the org already has `max_queued` queued
-- tasks (MAX_QUEUED_TASKS_PER_ORG): the count stops there, so it costs at most that many index
-- entries. Two creates racing past the check can exceed the cap by one each, never more. An agent
-- or thread of another org is refused by tasks_agent_id_fkey / tasks_thread_id_fkey.
-- uses: tasks_org_id_queue_idx
INSERT INTO tasks (org_id, agent_id, thread_id, input, priority, max_attempts, run_after, created_by)
SELECT %(org_id)s::uuid, %(agent_id)s::uuid, %(thread_id)s::uuid, %(input)s::jsonb, %(priority)s::integer,
       %(max_attempts)s::integer, coalesce(%(run_after)s::timestamptz, now()), %(created_by)s::uuid
WHERE (
    SELECT count(*)
    FROM (
        SELECT 1
        FROM tasks
        WHERE org_id = %(org_id)s::uuid AND status = 'queued'
        LIMIT %(max_queued)s
    ) AS queued
) < %(max_queued)s
RETURNING id, org_id, agent_id, schedule_id, thread_id, status, input, output, error, attempt, max_attempts,
          priority, run_after, claimed_by, lease_expires_at, queued_at, started_at, finished_at, created_by;

-- name: cancel_task :one
-- Cancel a queued or running task of the org, when created_by is set only one that user created
-- (members cancel their own); no row when there is none or it has finished. A running task's
-- worker learns it on its next heartbeat or completion (no row there either).
-- uses: tasks_pkey
-- never: Seq Scan
UPDATE tasks
SET status = 'cancelled', lease_expires_at = NULL, lease_token_hash = NULL, finished_at = now()
WHERE id = %(task_id)s AND org_id = %(org_id)s AND status IN ('queued', 'running')
  AND (%(created_by)s::uuid IS NULL OR created_by = %(created_by)s::uuid)
RETURNING id, org_id, agent_id, schedule_id, thread_id, status, input, output, error, attempt, max_attempts,
          priority, run_after, claimed_by, lease_expires_at, queued_at, started_at, finished_at, created_by;

-- name: claim_tasks :many
-- Hand up to `limit` tasks to a worker, fairly across orgs: first running ones whose lease expired
-- (their worker is gone), then queued ones whose run_after has passed, org by org, the org served
-- least recently first (never served, then the oldest last_claimed_at in task_claim_turns), and
-- within an org its highest priority and oldest first. So one org's flood at the highest priority
-- takes one turn in each round, and another org's due task is claimed within as many claims as
-- there are orgs with due tasks; priority orders an org's own tasks only.
-- One statement throughout: the orgs with queued tasks are found by a loose index scan of
-- tasks_org_id_queue_idx (one probe per org: its cost grows with the orgs that have queued tasks,
-- not with the tasks), sorted by their turn, and a nested loop in that order takes each org's best
-- due tasks through the same index. Rows are locked with SKIP LOCKED as the loop reaches them, and
-- the loop stops at `limit`: concurrent claims never wait on nor take the same task, and one whose
-- first org's tasks are all taken moves on to the next org. The UPDATE marks the chosen ones
-- running with a fresh lease, and the org's turn is recorded in the same statement (upserts in
-- org_id order, so two claims never deadlock on them).
-- org_id NULL claims in every org (the worker command); agent_ids NULL claims for every agent.
-- A task whose lease expired on its last attempt is not run again but failed, in the same
-- statement (a worker that dies on a task every time must not take the queue down with it).
-- Each claimed task gets a fresh lease token, returned once as lease_token and stored as its
-- SHA-256 (what security.hash_token computes): 32 bytes of two gen_random_uuid() (PostgreSQL's
-- strong random source; 244 random bits, the rest are version bits), base64url like session
-- tokens. Made in `chosen`, which PostgreSQL evaluates once (it holds volatile functions), so the
-- returned token is the one whose hash is stored.
-- uses: tasks_org_id_queue_idx, tasks_lease_expires_at_idx
-- never: Seq Scan on tasks
WITH RECURSIVE queued_orgs (org_id) AS (
    (
        SELECT org_id
        FROM tasks
        WHERE status = 'queued'
          AND org_id >= coalesce(%(org_id)s::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
        ORDER BY org_id
        LIMIT 1
    )
    UNION ALL
    SELECT (
        SELECT next.org_id
        FROM tasks AS next
        WHERE next.status = 'queued' AND next.org_id > queued_orgs.org_id
        ORDER BY next.org_id
        LIMIT 1
    )
    FROM queued_orgs
    WHERE queued_orgs.org_id IS NOT NULL AND %(org_id)s::uuid IS NULL
), turns AS (
    SELECT queued_orgs.org_id
    FROM queued_orgs
    LEFT JOIN task_claim_turns AS turn ON turn.org_id = queued_orgs.org_id
    WHERE queued_orgs.org_id IS NOT NULL
      AND (%(org_id)s::uuid IS NULL OR queued_orgs.org_id = %(org_id)s::uuid)
    ORDER BY turn.last_claimed_at NULLS FIRST, queued_orgs.org_id
), exhausted AS (
    UPDATE tasks
    SET status = 'failed', error = 'the worker''s lease expired on the last attempt', lease_expires_at = NULL,
        lease_token_hash = NULL, finished_at = now()
    WHERE id IN (
        SELECT id
        FROM tasks
        WHERE status = 'running' AND lease_expires_at < now() AND attempt >= max_attempts
          AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
          AND (%(agent_ids)s::uuid[] IS NULL OR agent_id = ANY(%(agent_ids)s::uuid[]))
        ORDER BY lease_expires_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id
), expired AS (
    SELECT id
    FROM tasks
    WHERE status = 'running' AND lease_expires_at < now() AND attempt < max_attempts
      AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
      AND (%(agent_ids)s::uuid[] IS NULL OR agent_id = ANY(%(agent_ids)s::uuid[]))
    ORDER BY lease_expires_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), queued AS (
    -- turns is read in its order (the outer side of the nested loop the lateral reference forces).
    SELECT task.id
    FROM turns
    CROSS JOIN LATERAL (
        SELECT id
        FROM tasks
        WHERE status = 'queued' AND org_id = turns.org_id AND run_after <= now()
          AND (%(agent_ids)s::uuid[] IS NULL OR agent_id = ANY(%(agent_ids)s::uuid[]))
        ORDER BY priority DESC, run_after, queued_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AS task
    LIMIT %(limit)s
), chosen AS (
    SELECT picked.id,
           rtrim(translate(encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'base64'),
                           '+/', '-_'), '=') AS lease_token
    FROM (SELECT id FROM expired UNION ALL SELECT id FROM queued LIMIT %(limit)s) AS picked
), claimed AS (
    UPDATE tasks
    SET status = 'running',
        claimed_by = %(worker_id)s,
        lease_expires_at = now() + make_interval(secs => %(lease_seconds)s::integer),
        lease_token_hash = sha256(convert_to(chosen.lease_token, 'UTF8')),
        attempt = tasks.attempt + 1,
        started_at = coalesce(tasks.started_at, now())
    FROM chosen
    WHERE tasks.id = chosen.id
    RETURNING tasks.id, tasks.org_id, tasks.agent_id, tasks.schedule_id, tasks.thread_id, tasks.status, tasks.input,
              tasks.output, tasks.error, tasks.attempt, tasks.max_attempts, tasks.priority, tasks.run_after,
              tasks.claimed_by, tasks.lease_expires_at, tasks.queued_at, tasks.started_at, tasks.finished_at,
              tasks.created_by, chosen.lease_token
), served AS (
    INSERT INTO task_claim_turns (org_id, last_claimed_at)
    SELECT DISTINCT org_id, now()
    FROM claimed
    ORDER BY org_id
    ON CONFLICT (org_id) DO UPDATE
    SET last_claimed_at = greatest(task_claim_turns.last_claimed_at, excluded.last_claimed_at)
)
SELECT id, org_id, agent_id, schedule_id, thread_id, status, input, output, error, attempt, max_attempts,
       priority, run_after, claimed_by, lease_expires_at, queued_at, started_at, finished_at, created_by,
       lease_token
FROM claimed;

-- name: heartbeat_task :one
-- Extend the lease of a task the worker holds: running, under the lease token its claim returned,
-- lease not yet expired. No row otherwise (lost, reclaimed, cancelled or finished): the worker
-- should stop working on it.
-- uses: tasks_pkey
-- never: Seq Scan
UPDATE tasks
SET lease_expires_at = now() + make_interval(secs => %(lease_seconds)s::integer)
WHERE id = %(task_id)s
  AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
  AND status = 'running' AND lease_token_hash = %(lease_token_hash)s AND lease_expires_at >= now()
RETURNING id, org_id, agent_id, schedule_id, thread_id, status, input, output, error, attempt, max_attempts,
          priority, run_after, claimed_by, lease_expires_at, queued_at, started_at, finished_at, created_by;

-- name: complete_task :one
-- Record a task's output: succeeded, if the lease token is still the task's and its lease has not
-- expired; no row otherwise (the lease expired and maybe another attempt has it, or it was
-- cancelled or has finished).
-- uses: tasks_pkey
-- never: Seq Scan
UPDATE tasks
SET status = 'succeeded', output = %(output)s::jsonb, error = NULL, lease_expires_at = NULL, lease_token_hash = NULL,
    finished_at = now()
WHERE id = %(task_id)s
  AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
  AND status = 'running' AND lease_token_hash = %(lease_token_hash)s AND lease_expires_at >= now()
RETURNING id, org_id, agent_id, schedule_id, thread_id, status, input, output, error, attempt, max_attempts,
          priority, run_after, claimed_by, lease_expires_at, queued_at, started_at, finished_at, created_by;

-- name: fail_task :one
-- Record a failed attempt of a task the worker holds (same conditions as complete_task). Retryable
-- with attempts left: queued again after 2^attempt seconds (at most an hour), unclaimed; else failed.
-- uses: tasks_pkey
-- never: Seq Scan
UPDATE tasks
SET status = CASE WHEN %(retryable)s::boolean AND attempt < max_attempts THEN 'queued' ELSE 'failed' END,
    error = %(error)s,
    run_after = CASE
        WHEN %(retryable)s::boolean AND attempt < max_attempts
        THEN now() + make_interval(secs => least(power(2, attempt), 3600))
        ELSE run_after
    END,
    claimed_by = CASE WHEN %(retryable)s::boolean AND attempt < max_attempts THEN NULL ELSE claimed_by END,
    lease_expires_at = NULL,
    lease_token_hash = NULL,
    finished_at = CASE WHEN %(retryable)s::boolean AND attempt < max_attempts THEN NULL ELSE now() END
WHERE id = %(task_id)s
  AND (%(org_id)s::uuid IS NULL OR org_id = %(org_id)s::uuid)
  AND status = 'running' AND lease_token_hash = %(lease_token_hash)s AND lease_expires_at >= now()
RETURNING id, org_id, agent_id, schedule_id, thread_id, status, input, output, error, attempt, max_attempts,
          priority, run_after, claimed_by, lease_expires_at, queued_at, started_at, finished_at, created_by;

-- name: count_tasks_in_queue :one
-- The queue's depth for /metrics: tasks waiting (queued, due or not) and being worked on (running), over
-- every org. Each count reads only its status's partial index; the finished tasks, which only grow, are not
-- counted. Run under a short statement timeout (web/metrics.py), at most every few seconds a process.
-- uses: tasks_org_id_queue_idx, tasks_lease_expires_at_idx
-- never: Seq Scan
SELECT (SELECT count(*) FROM tasks WHERE status = 'queued') AS queued,
       (SELECT count(*) FROM tasks WHERE status = 'running') AS running;
