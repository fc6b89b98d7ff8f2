-- Analytics rollups: per org, per UTC day, the aggregates the reports read, so that a year of
-- usage answers from a few hundred rows per agent instead of a scan of the messages.
-- `agentpress analytics refresh` and the service's refresh loop fill them for closed days;
-- reports add the days after analytics_refreshes.complete_before from the source tables.
-- agent_id has no foreign key: an agent's history outlives the agent.
-- depends: 0008.tasks

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE analytics_refreshes (
    org_id uuid PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    complete_before date,
    refreshed_at timestamptz
);
COMMENT ON TABLE analytics_refreshes IS 'How far the rollups of an org reach; its row is also the lock two refreshes of the org take in turn.';
COMMENT ON COLUMN analytics_refreshes.complete_before IS 'The rollups hold every day before this one (UTC); reports read the source tables from it on. Null: never refreshed.';

CREATE TABLE analytics_daily (
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    day date NOT NULL,
    agent_id uuid,
    threads_created integer NOT NULL DEFAULT 0,
    user_messages integer NOT NULL DEFAULT 0,
    assistant_messages integer NOT NULL DEFAULT 0,
    system_messages integer NOT NULL DEFAULT 0,
    tool_messages integer NOT NULL DEFAULT 0,
    input_tokens bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    feedback_up integer NOT NULL DEFAULT 0,
    feedback_down integer NOT NULL DEFAULT 0,
    tasks_succeeded integer NOT NULL DEFAULT 0,
    tasks_failed integer NOT NULL DEFAULT 0,
    -- NULLS NOT DISTINCT: the threads without an agent have one row per day too.
    CONSTRAINT analytics_daily_org_id_day_agent_id_key UNIQUE NULLS NOT DISTINCT (org_id, day, agent_id)
);
COMMENT ON TABLE analytics_daily IS 'Per org, UTC day and agent (null: threads without one): threads created, messages by role and their tokens, feedback by the day it was last given, tasks by the day they finished.';

CREATE TABLE analytics_daily_users (
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    day date NOT NULL,
    agent_id uuid,
    user_id uuid NOT NULL,
    CONSTRAINT analytics_daily_users_org_id_day_agent_id_user_id_key
        UNIQUE NULLS NOT DISTINCT (org_id, day, agent_id, user_id)
);
COMMENT ON TABLE analytics_daily_users IS 'Who was active (wrote a message in a thread of theirs) per org, UTC day and agent: active users over a week or month are distinct, not a sum of days.';

CREATE TABLE analytics_daily_tools (
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    day date NOT NULL,
    tool_name text NOT NULL,
    calls integer NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, tool_name)
);
COMMENT ON TABLE analytics_daily_tools IS 'Per org, UTC day and tool name: tool_call parts, and tool_result parts with is_error.';
