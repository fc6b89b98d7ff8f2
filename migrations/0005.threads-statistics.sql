-- Extended statistics on threads: how many threads a user has with an agent is not the product of
-- how many they have and how common the agent is. Without them the planner underestimates a heavy
-- user's threads with one agent 20-fold and scans threads for a filtered message search
-- (tests/sql/test_conversation_plans.py shows the plan).
-- depends: 0004.conversations

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE STATISTICS IF NOT EXISTS threads_org_id_user_id_agent_id_stats (dependencies, mcv)
    ON org_id, user_id, agent_id FROM threads;
