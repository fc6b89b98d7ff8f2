-- Schedules: templates that turn into tasks, once (run_at) or on a cron recurrence (cron in
-- timezone). next_run_at is computed by the service (croniter) on every change that moves it and
-- advanced by the scheduler in the transaction that creates the task. Every query a client
-- reaches filters by org_id: another org's schedule is not found.

-- name: list_schedules :many
-- The org's schedules, newest first; the page is (page - 1) * page_size.
-- uses: schedules_org_id_created_at_idx
-- never: Seq Scan
SELECT id, org_id, agent_id, name, kind, run_at, cron, timezone, input, is_enabled, next_run_at, last_run_at,
    created_by, created_at, updated_at
FROM schedules
WHERE org_id = %(org_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_schedules :scalar
-- How many schedules the org has in all.
-- uses: schedules_org_id_created_at_idx
-- never: Seq Scan
SELECT count(*)
FROM schedules
WHERE org_id = %(org_id)s;

-- name: get_schedule :one
-- A schedule of the org.
-- uses: schedules_pkey
-- never: Seq Scan
SELECT id, org_id, agent_id, name, kind, run_at, cron, timezone, input, is_enabled, next_run_at, last_run_at,
    created_by, created_at, updated_at
FROM schedules
WHERE id = %(schedule_id)s AND org_id = %(org_id)s;

-- name: get_schedule_for_update :one
-- A schedule of the org, locked until the transaction ends: a partial change merges into it, and
-- the scheduler (which skips locked rows) does not fire it half-changed.
-- uses: schedules_pkey
-- never: Seq Scan
SELECT id, org_id, agent_id, name, kind, run_at, cron, timezone, input, is_enabled, next_run_at, last_run_at,
    created_by, created_at, updated_at
FROM schedules
WHERE id = %(schedule_id)s AND org_id = %(org_id)s
FOR UPDATE;

-- name: create_schedule :one
-- Insert a schedule; an agent that is not the org's is refused by schedules_agent_id_fkey, a
-- kind without its fields by schedules_kind_check.
INSERT INTO schedules (
    org_id, agent_id, name, kind, run_at, cron, timezone, input, is_enabled, next_run_at, created_by
)
VALUES (
    %(org_id)s, %(agent_id)s, %(name)s, %(kind)s, %(run_at)s, %(cron)s, %(timezone)s, %(input)s::jsonb,
    %(is_enabled)s, %(next_run_at)s, %(created_by)s
)
RETURNING id, org_id, agent_id, name, kind, run_at, cron, timezone, input, is_enabled, next_run_at, last_run_at,
    created_by, created_at, updated_at;

-- name: update_schedule :one
-- Write every field of a schedule of the org (the caller merged the change into the locked row
-- and computed next_run_at); no row when there is no such schedule.
-- uses: schedules_pkey
-- never: Seq Scan
UPDATE schedules
SET agent_id = %(agent_id)s,
    name = %(name)s,
    kind = %(kind)s,
    run_at = %(run_at)s,
    cron = %(cron)s,
    timezone = %(timezone)s,
    input = %(input)s::jsonb,
    is_enabled = %(is_enabled)s,
    next_run_at = %(next_run_at)s,
    updated_at = now()
WHERE id = %(schedule_id)s AND org_id = %(org_id)s
RETURNING id, org_id, agent_id, name, kind, run_at, cron, timezone, input, is_enabled, next_run_at, last_run_at,
    created_by, created_at, updated_at;

-- name: delete_schedule :execrows
-- Delete a schedule of the org: 1, or 0 when there is none. Its tasks stay, without schedule_id.
-- uses: schedules_pkey
-- never: Seq Scan
DELETE FROM schedules
WHERE id = %(schedule_id)s AND org_id = %(org_id)s;

-- name: lock_due_schedule :one
-- The scheduler: the most overdue enabled schedule, locked until the transaction ends; schedules
-- another scheduler holds are skipped, so two schedulers never fire the same one. fired_at is the
-- transaction's now(), the time the next occurrence is counted from.
-- uses: schedules_next_run_at_idx
-- never: Seq Scan
SELECT id, kind, cron, timezone, next_run_at, now() AS fired_at
FROM schedules
WHERE is_enabled AND next_run_at IS NOT NULL AND next_run_at <= now()
ORDER BY next_run_at
LIMIT 1
FOR UPDATE SKIP LOCKED;

-- name: fire_schedule :scalar
-- Turn a locked schedule into one queued task (its agent and input) and move it on: next_run_at
-- is the next occurrence the scheduler allows (null, and disabled, for a fired once-schedule).
-- Returns the task's id; null when the org already has `max_queued` queued tasks
-- (MAX_QUEUED_TASKS_PER_ORG): the occurrence is dropped, but the schedule moves on all the same.
-- uses: tasks_org_id_queue_idx
WITH fired AS (
    UPDATE schedules
    SET next_run_at = %(next_run_at)s, is_enabled = %(is_enabled)s, last_run_at = now()
    WHERE id = %(schedule_id)s
    RETURNING id, org_id, agent_id, input
)
INSERT INTO tasks (org_id, agent_id, schedule_id, input, status)
SELECT org_id, agent_id, id, input, 'queued'
FROM fired
WHERE (
    SELECT count(*)
    FROM (
        SELECT 1
        FROM tasks
        WHERE tasks.org_id = fired.org_id AND tasks.status = 'queued'
        LIMIT %(max_queued)s
    ) AS queued
) < %(max_queued)s
RETURNING id;

-- name: disable_schedule :exec
-- Switch off a schedule the scheduler cannot step (its cron or timezone no longer parses), so that
-- it does not hold up the others.
UPDATE schedules
SET is_enabled = false, next_run_at = NULL, updated_at = now()
WHERE id = %(schedule_id)s;
