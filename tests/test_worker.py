"""The task worker against a real database: exactly-once runs under concurrency and lost workers, retries, leases."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from helpers import SECRET_KEY

from agentpress import cli
from agentpress.db.pools import create_pool
from agentpress.models.tasks import Task
from agentpress.repositories import tasks
from agentpress.services.crypto import hash_token
from agentpress.services.worker import Pool, Worker, load_handler, run_worker

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = create_pool(
        database_url,
        name="test-worker",
        min_size=2,
        max_size=12,
        timeout=30,
        statement_timeout_ms=30_000,
        idle_in_transaction_session_timeout_ms=60_000,
    )
    await pool.open()
    await pool.wait()
    yield pool
    await pool.close()


def seed_tasks(database_url: str, count: int) -> list[UUID]:
    """`count` queued tasks split over two orgs (the worker serves every org), oldest first."""
    with psycopg.connect(database_url) as conn:
        orgs = [
            row[0]
            for row in conn.execute(
                "INSERT INTO orgs (name, slug)"
                " SELECT 'Org ' || n, 'org-' || gen_random_uuid() FROM generate_series(1, 2) AS n RETURNING id"
            ).fetchall()
        ]
        agents = [
            row[0]
            for row in conn.execute(
                "INSERT INTO agents (org_id, name) SELECT unnest(%s::uuid[]), 'worker agent' RETURNING id", [orgs]
            ).fetchall()
        ]
        rows = conn.execute(
            "INSERT INTO tasks (org_id, agent_id, input, queued_at)"
            " SELECT a.org_id, a.id, jsonb_build_object('n', n), now() + n * interval '1 microsecond'"
            " FROM generate_series(1, %(count)s) AS n"
            " JOIN (SELECT org_id, id, row_number() OVER (ORDER BY id) - 1 AS i FROM agents WHERE id = ANY(%(agents)s))"
            " AS a ON a.i = n %% 2 RETURNING id",
            {"count": count, "agents": agents},
        ).fetchall()
    return [row[0] for row in rows]


def task_rows(database_url: str) -> dict[UUID, tuple[str, int, str | None, Any]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, status, attempt, claimed_by, output FROM tasks").fetchall()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


async def test_8_workers_run_1000_tasks_exactly_once_even_when_some_workers_vanish(
    pool: Pool, database_url: str
) -> None:
    ids = seed_tasks(database_url, 1000)
    calls: list[UUID] = []

    async def handler(task: Task) -> dict[str, Any]:
        calls.append(task.id)
        await asyncio.sleep(0.001)
        return {"n": task.input["n"], "done": True}

    workers = [
        Worker(pool=pool, worker_id=f"w{i}", handler=handler, concurrency=4, lease_seconds=30, poll_seconds=0.05)
        for i in range(8)
    ]
    abandoned: set[UUID] = set()

    async def vanishing_worker(name: str) -> None:
        # Claims like a worker, with a 1 s lease, then dies without running or finishing anything.
        for _ in range(3):
            async with pool.connection() as conn:
                claimed = await tasks.claim_tasks(
                    conn, org_id=None, worker_id=name, agent_ids=None, limit=20, lease_seconds=1
                )
            abandoned.update(task.id for task in claimed)
            await asyncio.sleep(0.1)

    started = time.monotonic()
    running = [asyncio.create_task(worker.run()) for worker in workers]
    await asyncio.gather(vanishing_worker("ghost-1"), vanishing_worker("ghost-2"))
    while True:
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT count(*) FROM tasks WHERE status <> 'succeeded'")
            (left,) = await cursor.fetchone()  # type: ignore[misc]
        if left == 0 or time.monotonic() - started > 50:
            break
        await asyncio.sleep(0.1)
    for worker in workers:
        worker.stop.set()
    claims = await asyncio.gather(*running)

    assert left == 0
    assert len(calls) == 1000, f"{len(calls) - len(set(calls))} tasks ran twice"
    assert set(calls) == set(ids)
    assert len(abandoned) > 0
    rows = task_rows(database_url)
    assert all(status == "succeeded" for status, _, _, _ in rows.values())
    assert {claimed_by for _, _, claimed_by, _ in rows.values()} <= {f"w{i}" for i in range(8)}
    # The abandoned tasks were claimed twice: once by a ghost, then by a live worker after the lease.
    assert {task_id for task_id, row in rows.items() if row[1] == 2} == abandoned
    assert {row[1] for task_id, row in rows.items() if task_id not in abandoned} == {1}
    assert sum(claims) == 1000
    assert all(rows[task_id][3]["done"] for task_id in ids)


async def test_a_handler_error_fails_the_attempt_for_a_retry(pool: Pool, database_url: str) -> None:
    (task_id,) = seed_tasks(database_url, 1)

    async def broken(task: Task) -> dict[str, Any]:
        raise RuntimeError("the model is down")

    assert await Worker(pool=pool, worker_id="w1", handler=broken, once=True).run() == 1
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT status, attempt, error, claimed_by, run_after > now() FROM tasks WHERE id = %s", [task_id]
        ).fetchone()
    assert row == ("queued", 1, "RuntimeError('the model is down')", None, True)


async def test_heartbeats_keep_the_lease_while_the_handler_runs(pool: Pool, database_url: str) -> None:
    (task_id,) = seed_tasks(database_url, 1)
    stolen: list[Task] = []

    async def slow(task: Task) -> dict[str, Any]:
        # Three times the lease: without heartbeats another worker would take the task meanwhile.
        for _ in range(6):
            await asyncio.sleep(0.5)
            async with pool.connection() as conn:
                stolen.extend(
                    await tasks.claim_tasks(
                        conn, org_id=None, worker_id="thief", agent_ids=None, limit=1, lease_seconds=1
                    )
                )
        return {"slow": True}

    assert await Worker(pool=pool, worker_id="w1", handler=slow, lease_seconds=1, once=True).run() == 1
    assert stolen == []
    assert task_rows(database_url)[task_id][:3] == ("succeeded", 1, "w1")


async def test_a_restarted_worker_of_the_same_id_cannot_finish_its_predecessors_attempt(
    pool: Pool, database_url: str
) -> None:
    # The worker id is a label: what lets an attempt act is the lease token its claim returned.
    (task_id,) = seed_tasks(database_url, 1)
    claim = {"org_id": None, "worker_id": "w1", "agent_ids": None, "limit": 1, "lease_seconds": 60}
    async with pool.connection() as conn:
        (before,) = await tasks.claim_tasks(conn, **claim)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = %s", [task_id])
        (stored,) = conn.execute("SELECT lease_token_hash FROM tasks WHERE id = %s", [task_id]).fetchone()  # type: ignore[misc]
    assert stored == hash_token(before.lease_token)  # only the token's SHA-256 is kept
    async with pool.connection() as conn:
        (after,) = await tasks.claim_tasks(conn, **claim)  # w1 again, restarted
        assert (after.id, after.claimed_by, after.attempt) == (task_id, "w1", 2)
        old = {"org_id": None, "task_id": task_id, "lease_token": before.lease_token}
        assert await tasks.heartbeat_task(conn, **old, lease_seconds=60) is None
        assert await tasks.fail_task(conn, **old, error="late", retryable=True) is None
        assert await tasks.complete_task(conn, **old, output={"by": "before"}) is None
        done = await tasks.complete_task(
            conn, org_id=None, task_id=task_id, lease_token=after.lease_token, output={"by": "after"}
        )
    assert done is not None and done.output == {"by": "after"}
    assert task_rows(database_url)[task_id] == ("succeeded", 2, "w1", {"by": "after"})


async def test_a_stopped_worker_finishes_what_it_holds_and_max_tasks_bounds_it(pool: Pool, database_url: str) -> None:
    seed_tasks(database_url, 5)
    started = asyncio.Event()

    async def handler(task: Task) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(0.3)
        return {}

    worker = Worker(pool=pool, worker_id="w1", handler=handler, concurrency=2, poll_seconds=0.05)
    run = asyncio.create_task(worker.run())
    await started.wait()
    worker.stop.set()
    assert await run == 2
    statuses = sorted(status for status, _, _, _ in task_rows(database_url).values())
    assert statuses == ["queued"] * 3 + ["succeeded"] * 2

    assert await Worker(pool=pool, worker_id="w2", concurrency=2, max_tasks=1, poll_seconds=0.05).run() == 1
    assert sorted(status for status, _, _, _ in task_rows(database_url).values()) == ["queued"] * 2 + ["succeeded"] * 3


async def test_sigterm_stops_the_worker_command_cleanly(database_url: str) -> None:
    seed_tasks(database_url, 3)
    started = asyncio.Event()

    async def handler(task: Task) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(0.3)
        return {"echo": task.input}

    run = asyncio.create_task(
        run_worker(
            database_url,
            worker_id="w1",
            handler=handler,
            agent_ids=None,
            concurrency=1,
            lease_seconds=30,
            max_tasks=None,
            once=False,
        )
    )
    await started.wait()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(run, timeout=10) == 1
    assert sorted(status for status, _, _, _ in task_rows(database_url).values()) == ["queued", "queued", "succeeded"]


def test_the_worker_command_runs_a_handler_by_name(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed_tasks(database_url, 4)
    (tmp_path / "my_handlers.py").write_text(
        "async def shout(task):\n    return {'shouted': str(task.input['n']) + '!'}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("APP_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REDIS_URL", "off")

    assert (
        cli.main(["worker", "--worker-id", "cli", "--handler", "my_handlers:shout", "--concurrency", "2", "--once"])
        == 0
    )
    assert "cli: ran 4 task(s)" in capsys.readouterr().out
    rows = task_rows(database_url)
    assert {rows[task_id][3]["shouted"] for task_id in ids} == {"1!", "2!", "3!", "4!"}
    assert {rows[task_id][2] for task_id in ids} == {"cli"}
    # The default handler echoes the input.
    (echoed,) = seed_tasks(database_url, 1)
    assert cli.main(["worker", "--max-tasks", "1"]) == 0
    assert task_rows(database_url)[echoed][3] == {"n": 1}
    for spec in ("my_handlers:nothing", "no_such_module:run", "no_colon"):
        assert cli.main(["worker", "--handler", spec, "--once"]) == 2
    with pytest.raises(ValueError, match="module:function"):
        load_handler("no_colon")


def seed_flood(database_url: str) -> tuple[UUID, UUID, list[UUID]]:
    """Org A: 5,000 due tasks at the highest priority, queued an hour ago; org C: two due tasks at priority 0,
    queued half an hour ago. Returns A's and C's ids and C's tasks (org B comes with add_late_task)."""
    with psycopg.connect(database_url) as conn:
        flood, calm = (
            row[0]
            for row in conn.execute(
                "INSERT INTO orgs (name, slug) VALUES ('Flood', 'flood'), ('Calm', 'calm') RETURNING id"
            ).fetchall()
        )
        for org_id in (flood, calm):
            conn.execute("INSERT INTO agents (org_id, name) VALUES (%s, 'agent')", [org_id])
        conn.execute(
            "INSERT INTO tasks (org_id, agent_id, priority, run_after, queued_at)"
            " SELECT org_id, id, 1000, now() - interval '1 hour', now() - interval '1 hour' + n * interval '1 ms'"
            " FROM agents, generate_series(1, 5000) AS n WHERE org_id = %s",
            [flood],
        )
        calm_tasks = conn.execute(
            "INSERT INTO tasks (org_id, agent_id, run_after, queued_at)"
            " SELECT org_id, id, now() - interval '30 minutes', now() - interval '30 minutes'"
            " FROM agents, generate_series(1, 2) WHERE org_id = %s RETURNING id",
            [calm],
        ).fetchall()
    return flood, calm, [row[0] for row in calm_tasks]


def add_late_task(database_url: str) -> UUID:
    """One due task at the lowest priority for org B (created on first use), queued last."""
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO orgs (name, slug) VALUES ('Late', 'late') ON CONFLICT (slug) DO NOTHING")
        conn.execute(
            "INSERT INTO agents (org_id, name) SELECT id, 'agent' FROM orgs WHERE slug = 'late'"
            " AND NOT EXISTS (SELECT FROM agents WHERE org_id = orgs.id)"
        )
        (task_id,) = conn.execute(  # type: ignore[misc]
            "INSERT INTO tasks (org_id, agent_id, priority) SELECT org_id, id, -1000 FROM agents"
            " WHERE org_id = (SELECT id FROM orgs WHERE slug = 'late') RETURNING id"
        ).fetchone()
    return task_id  # type: ignore[no-any-return]


async def test_a_flooding_org_does_not_starve_another_orgs_task(pool: Pool, database_url: str) -> None:
    flood, _, calm_tasks = seed_flood(database_url)
    served: list[Task] = []

    async def handler(task: Task) -> dict[str, Any]:
        served.append(task)
        return {}

    # Three orgs with due tasks, so each one's due task is claimed within three claims (one a claim:
    # concurrency 1), however many higher-priority and older tasks another org has queued; in later
    # rounds too, when the flooding org has been served many times.
    orgs_with_due_tasks = 3
    for round_ in range(4):
        late = add_late_task(database_url)
        served.clear()
        worker = Worker(pool=pool, worker_id=f"w{round_}", handler=handler, max_tasks=orgs_with_due_tasks)
        assert await worker.run() == orgs_with_due_tasks
        assert late in {task.id for task in served}, [task.org_id for task in served]
        assert flood in {task.org_id for task in served}
        if round_ < 2:
            # C's two tasks come one a round, in their turn.
            assert calm_tasks[round_] in {task.id for task in served}
        else:
            # C has no due task left: two orgs, and A takes the other turn.
            assert [task.org_id for task in served].count(flood) == 2
    # Within the flooding org the order stays priority, then age: its oldest tasks went first.
    with psycopg.connect(database_url) as conn:
        (oldest_first,) = conn.execute(  # type: ignore[misc]
            "SELECT bool_and(status = 'succeeded') FROM"
            " (SELECT status FROM tasks WHERE org_id = %s ORDER BY queued_at LIMIT 6) AS oldest",
            [flood],
        ).fetchone()
        assert oldest_first
        (queued,) = conn.execute(  # type: ignore[misc]
            "SELECT count(*) FROM tasks WHERE org_id = %s AND status = 'queued'", [flood]
        ).fetchone()
        assert queued == 5000 - 6
