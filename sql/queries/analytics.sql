-- Analytics: reports over an org's threads, messages, feedback, tasks and tool calls, by UTC day.
-- Closed days come from the rollups (analytics_daily, analytics_daily_users, analytics_daily_tools),
-- which the refresh fills from the live_* queries below; the days after the org's
-- analytics_refreshes.complete_before come from the same live_* queries at report time. Reports
-- run on the analytics pool, which may be a read replica: nothing here but the refresh writes.
-- Days are [from_day, to_day) and times [since, until): half-open, so that ranges tile.

-- name: get_complete_before :scalar
-- The first day the org's rollups do not hold; null when they were never refreshed.
-- uses: analytics_refreshes_pkey
-- never: Seq Scan
SELECT complete_before
FROM analytics_refreshes
WHERE org_id = %(org_id)s;

-- name: rollup_usage :many
-- The org's rollup summed per bucket (granularity is date_trunc's field: day, week or month),
-- optionally of one agent. Buckets start on their first day; weeks on Mondays.
-- uses: analytics_daily_org_id_day_agent_id_key
-- never: Seq Scan
SELECT date_trunc(%(granularity)s::text, day::timestamp)::date AS bucket,
       sum(threads_created)::bigint AS threads_created,
       sum(user_messages)::bigint AS user_messages,
       sum(assistant_messages)::bigint AS assistant_messages,
       sum(system_messages)::bigint AS system_messages,
       sum(tool_messages)::bigint AS tool_messages,
       sum(input_tokens)::bigint AS input_tokens,
       sum(output_tokens)::bigint AS output_tokens
FROM analytics_daily
WHERE org_id = %(org_id)s
  AND day >= %(from_day)s AND day < %(to_day)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
GROUP BY 1
ORDER BY 1;

-- name: rollup_active_users :many
-- Distinct active users per bucket of the org's rollup, optionally of one agent: not a sum of
-- days, since one user active on two days of a week is one active user that week.
-- uses: analytics_daily_users_org_id_day_agent_id_user_id_key
-- never: Seq Scan
SELECT date_trunc(%(granularity)s::text, day::timestamp)::date AS bucket,
       count(DISTINCT user_id) AS active_users
FROM analytics_daily_users
WHERE org_id = %(org_id)s
  AND day >= %(from_day)s AND day < %(to_day)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
GROUP BY 1
ORDER BY 1;

-- name: rollup_user_ids :many
-- The users active in the org's rollup over the days, optionally of one agent: for a bucket that
-- the rollup holds only in part, to be united with the live part's users.
-- uses: analytics_daily_users_org_id_day_agent_id_user_id_key
-- never: Seq Scan
SELECT DISTINCT user_id
FROM analytics_daily_users
WHERE org_id = %(org_id)s
  AND day >= %(from_day)s AND day < %(to_day)s
  AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid);

-- name: rollup_agents :many
-- The org's rollup summed per agent over the days; agent_id null: threads without an agent.
-- uses: analytics_daily_org_id_day_agent_id_key
-- never: Seq Scan
SELECT agent_id,
       sum(threads_created)::bigint AS threads_created,
       sum(user_messages)::bigint AS user_messages,
       sum(assistant_messages)::bigint AS assistant_messages,
       sum(system_messages)::bigint AS system_messages,
       sum(tool_messages)::bigint AS tool_messages,
       sum(input_tokens)::bigint AS input_tokens,
       sum(output_tokens)::bigint AS output_tokens,
       sum(feedback_up)::bigint AS feedback_up,
       sum(feedback_down)::bigint AS feedback_down,
       sum(tasks_succeeded)::bigint AS tasks_succeeded,
       sum(tasks_failed)::bigint AS tasks_failed
FROM analytics_daily
WHERE org_id = %(org_id)s
  AND day >= %(from_day)s AND day < %(to_day)s
GROUP BY agent_id;

-- name: rollup_tools :many
-- The org's tool rollup summed per tool name over the days.
-- uses: analytics_daily_tools_pkey
-- never: Seq Scan
SELECT tool_name, sum(calls)::bigint AS calls, sum(failures)::bigint AS failures
FROM analytics_daily_tools
WHERE org_id = %(org_id)s
  AND day >= %(from_day)s AND day < %(to_day)s
GROUP BY tool_name;

-- name: live_daily :many
-- The org's activity in [since, until) per UTC day and agent, counted from the source tables:
-- threads by the day they were created, messages (by role, with their tokens) by the day they
-- were written, feedback by the day it was last given, tasks by the day they succeeded or failed
-- for good. Messages and feedback count for their thread's agent, tasks for their own.
-- uses: messages_org_id_created_at_idx, threads_org_id_created_at_idx, feedback_org_id_updated_at_idx, tasks_org_id_finished_at_idx
-- never: Seq Scan on messages
SELECT day, agent_id,
       sum(threads_created)::integer AS threads_created,
       sum(user_messages)::integer AS user_messages,
       sum(assistant_messages)::integer AS assistant_messages,
       sum(system_messages)::integer AS system_messages,
       sum(tool_messages)::integer AS tool_messages,
       sum(input_tokens)::bigint AS input_tokens,
       sum(output_tokens)::bigint AS output_tokens,
       sum(feedback_up)::integer AS feedback_up,
       sum(feedback_down)::integer AS feedback_down,
       sum(tasks_succeeded)::integer AS tasks_succeeded,
       sum(tasks_failed)::integer AS tasks_failed
FROM (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, agent_id,
           count(*) AS threads_created, 0 AS user_messages, 0 AS assistant_messages, 0 AS system_messages,
           0 AS tool_messages, 0 AS input_tokens, 0 AS output_tokens, 0 AS feedback_up, 0 AS feedback_down,
           0 AS tasks_succeeded, 0 AS tasks_failed
    FROM threads
    WHERE org_id = %(org_id)s AND created_at >= %(since)s AND created_at < %(until)s
    GROUP BY 1, 2
    UNION ALL
    SELECT (m.created_at AT TIME ZONE 'UTC')::date, t.agent_id, 0,
           count(*) FILTER (WHERE m.role = 'user'), count(*) FILTER (WHERE m.role = 'assistant'),
           count(*) FILTER (WHERE m.role = 'system'), count(*) FILTER (WHERE m.role = 'tool'),
           coalesce(sum(m.input_tokens), 0), coalesce(sum(m.output_tokens), 0), 0, 0, 0, 0
    FROM messages AS m
    JOIN threads AS t ON t.id = m.thread_id
    WHERE m.org_id = %(org_id)s AND m.created_at >= %(since)s AND m.created_at < %(until)s
    GROUP BY 1, 2
    UNION ALL
    SELECT (f.updated_at AT TIME ZONE 'UTC')::date, t.agent_id, 0, 0, 0, 0, 0, 0, 0,
           count(*) FILTER (WHERE f.rating = 1), count(*) FILTER (WHERE f.rating = -1), 0, 0
    FROM feedback AS f
    JOIN messages AS m ON m.id = f.message_id
    JOIN threads AS t ON t.id = m.thread_id
    WHERE f.org_id = %(org_id)s AND f.updated_at >= %(since)s AND f.updated_at < %(until)s
    GROUP BY 1, 2
    UNION ALL
    SELECT (finished_at AT TIME ZONE 'UTC')::date, agent_id, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed')
    FROM tasks
    WHERE org_id = %(org_id)s AND status IN ('succeeded', 'failed')
      AND finished_at >= %(since)s AND finished_at < %(until)s
    GROUP BY 1, 2
) AS counts
GROUP BY day, agent_id
ORDER BY day, agent_id;

-- name: live_users :many
-- Who was active in the org in [since, until), per UTC day and agent: the owners of the threads
-- that got a user message (a thread's user messages are its owner's).
-- uses: messages_org_id_created_at_idx
-- never: Seq Scan on messages
SELECT DISTINCT (m.created_at AT TIME ZONE 'UTC')::date AS day, t.agent_id, t.user_id
FROM messages AS m
JOIN threads AS t ON t.id = m.thread_id
WHERE m.org_id = %(org_id)s AND m.created_at >= %(since)s AND m.created_at < %(until)s
  AND m.role = 'user';

-- name: live_tools :many
-- The org's tool calls in [since, until) per UTC day and tool name: tool_call parts, and
-- tool_result parts that report an error.
-- uses: messages_org_id_created_at_idx
-- never: Seq Scan on messages
SELECT (m.created_at AT TIME ZONE 'UTC')::date AS day,
       p.part ->> 'tool_name' AS tool_name,
       count(*) FILTER (WHERE p.part ->> 'type' = 'tool_call')::integer AS calls,
       count(*) FILTER (
           WHERE p.part ->> 'type' = 'tool_result' AND coalesce((p.part ->> 'is_error')::boolean, false)
       )::integer AS failures
FROM messages AS m
CROSS JOIN LATERAL jsonb_array_elements(m.parts) AS p (part)
WHERE m.org_id = %(org_id)s AND m.created_at >= %(since)s AND m.created_at < %(until)s
  AND p.part ->> 'type' IN ('tool_call', 'tool_result')
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: agent_names :many
-- The names of those of the ids that are agents of the org (a report's agents may have been deleted).
-- uses: agents_pkey
-- never: Seq Scan
SELECT a.id, a.name
FROM unnest(%(agent_ids)s::uuid[]) AS wanted (id)
JOIN agents AS a ON a.id = wanted.id
WHERE a.org_id = %(org_id)s;

-- name: tool_ids :many
-- The ids of those of the names that are tools of the org (calls may name tools it does not have).
-- uses: tools_org_id_name_key
-- never: Seq Scan
SELECT id, name
FROM tools
WHERE org_id = %(org_id)s AND name = ANY(%(names)s::text[]);

-- name: orgs_to_refresh :scalar
-- The ids of the orgs whose rollups end before complete_before, or were never refreshed.
SELECT coalesce(array_agg(o.id ORDER BY o.id), '{}')
FROM orgs AS o
LEFT JOIN analytics_refreshes AS r ON r.org_id = o.id
WHERE r.complete_before IS NULL OR r.complete_before < %(complete_before)s;

-- name: lock_refresh :scalar
-- Take the org's refresh row for this transaction (a second refresh of the org waits for it) and
-- return how far its rollups reach; null when they were never refreshed.
INSERT INTO analytics_refreshes AS r (org_id)
VALUES (%(org_id)s)
ON CONFLICT (org_id) DO UPDATE SET org_id = r.org_id
RETURNING complete_before;

-- name: first_activity :scalar
-- When the org's first thread was created or first task finished: where a first refresh starts.
-- uses: threads_org_id_created_at_idx, tasks_org_id_finished_at_idx
-- never: Seq Scan
SELECT least(
    (SELECT min(created_at) FROM threads WHERE org_id = %(org_id)s),
    (SELECT min(finished_at) FROM tasks WHERE org_id = %(org_id)s AND status IN ('succeeded', 'failed'))
);

-- name: delete_daily :execrows
-- The org's rollup rows of the days, before the refresh copies them in anew (same transaction).
DELETE FROM analytics_daily
WHERE org_id = %(org_id)s AND day >= %(from_day)s AND day < %(to_day)s;

-- name: delete_daily_users :execrows
-- As delete_daily, for the active users.
DELETE FROM analytics_daily_users
WHERE org_id = %(org_id)s AND day >= %(from_day)s AND day < %(to_day)s;

-- name: delete_daily_tools :execrows
-- As delete_daily, for the tool calls.
DELETE FROM analytics_daily_tools
WHERE org_id = %(org_id)s AND day >= %(from_day)s AND day < %(to_day)s;

-- name: copy_daily :copy
-- Streamed, not executed: the rows of live_daily, with the org first.
COPY analytics_daily (
    org_id, day, agent_id, threads_created, user_messages, assistant_messages, system_messages, tool_messages,
    input_tokens, output_tokens, feedback_up, feedback_down, tasks_succeeded, tasks_failed
)
FROM STDIN;

-- name: copy_daily_users :copy
-- Streamed, not executed: the rows of live_users, with the org first.
COPY analytics_daily_users (org_id, day, agent_id, user_id)
FROM STDIN;

-- name: copy_daily_tools :copy
-- Streamed, not executed: the rows of live_tools, with the org first.
COPY analytics_daily_tools (org_id, day, tool_name, calls, failures)
FROM STDIN;

-- name: finish_refresh :exec
-- The org's rollups now hold every day before complete_before.
UPDATE analytics_refreshes
SET complete_before = %(complete_before)s, refreshed_at = now()
WHERE org_id = %(org_id)s;
