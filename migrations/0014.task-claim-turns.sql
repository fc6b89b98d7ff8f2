-- When each org's tasks were last claimed by a worker: the claim serves the org that waited
-- longest since its last turn first, so one org's flood cannot starve the others.
-- depends: 0013.index-comments

-- Give up rather than queue every query on the tables we lock behind a lock we wait for.
SET LOCAL lock_timeout = '5s';

CREATE TABLE task_claim_turns (
    org_id uuid PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    last_claimed_at timestamptz NOT NULL
);
COMMENT ON TABLE task_claim_turns IS 'One row per org whose tasks a claim has taken, written by claim_tasks in the same statement: orgs without a row, then the least recently served, are served first. Losing the rows only resets the rotation.';
