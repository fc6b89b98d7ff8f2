-- Tasks (one execution of an agent with an input, handed to workers through a leased queue) and
-- schedules (templates that produce tasks once or on a cron recurrence).
-- depends: 0007.embeddings-hnsw

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE schedules (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    agent_id uuid NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    run_at timestamptz,
    cron text,
    timezone text,
    input jsonb NOT NULL DEFAULT '{}',
    is_enabled boolean NOT NULL DEFAULT true,
    next_run_at timestamptz,
    last_run_at timestamptz,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedules_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE,
    CONSTRAINT schedules_id_org_id_key UNIQUE (id, org_id),
    CONSTRAINT schedules_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT schedules_kind_check CHECK (
        (kind = 'once' AND run_at IS NOT NULL AND cron IS NULL)
        OR (kind = 'cron' AND cron IS NOT NULL AND timezone IS NOT NULL AND run_at IS NULL)
    )
);
COMMENT ON COLUMN schedules.next_run_at IS 'The next occurrence to turn into a task; the scheduler advances it in the transaction that creates the task. Null once a one-time schedule has fired.';
CREATE INDEX schedules_org_id_created_at_idx ON schedules (org_id, created_at DESC, id DESC);
-- What the scheduler looks at: enabled schedules by their next occurrence.
CREATE INDEX schedules_next_run_at_idx ON schedules (next_run_at) WHERE is_enabled AND next_run_at IS NOT NULL;

CREATE TABLE tasks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    agent_id uuid NOT NULL,
    schedule_id uuid,
    thread_id uuid,
    status text NOT NULL DEFAULT 'queued',
    input jsonb NOT NULL DEFAULT '{}',
    output jsonb,
    error text,
    attempt integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 3,
    priority integer NOT NULL DEFAULT 0,
    run_after timestamptz NOT NULL DEFAULT now(),
    claimed_by text,
    lease_expires_at timestamptz,
    queued_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT tasks_agent_id_fkey FOREIGN KEY (agent_id, org_id) REFERENCES agents (id, org_id) ON DELETE CASCADE,
    CONSTRAINT tasks_schedule_id_fkey FOREIGN KEY (schedule_id, org_id)
        REFERENCES schedules (id, org_id) ON DELETE SET NULL (schedule_id),
    CONSTRAINT tasks_thread_id_fkey FOREIGN KEY (thread_id, org_id)
        REFERENCES threads (id, org_id) ON DELETE SET NULL (thread_id),
    CONSTRAINT tasks_status_check CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT tasks_attempt_check CHECK (attempt >= 0),
    CONSTRAINT tasks_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 100),
    CONSTRAINT tasks_running_check CHECK (status <> 'running' OR (claimed_by IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- The queue: queued tasks by priority, then age; and running tasks whose lease may expire.
CREATE INDEX tasks_queue_idx ON tasks (priority DESC, run_after, queued_at) WHERE status = 'queued';
CREATE INDEX tasks_lease_expires_at_idx ON tasks (lease_expires_at) WHERE status = 'running';
-- The listings: an org's tasks newest first, optionally by agent or schedule.
CREATE INDEX tasks_org_id_queued_at_idx ON tasks (org_id, queued_at DESC, id DESC);
CREATE INDEX tasks_agent_id_queued_at_idx ON tasks (agent_id, queued_at DESC);
CREATE INDEX tasks_schedule_id_queued_at_idx ON tasks (schedule_id, queued_at DESC) WHERE schedule_id IS NOT NULL;
CREATE INDEX tasks_thread_id_idx ON tasks (thread_id) WHERE thread_id IS NOT NULL;
