"""The task worker: claim tasks of every org from the database, run a pluggable handler on each, heartbeat, finish."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agentpress.db.pools import create_pool
from agentpress.models.tasks import DEFAULT_LEASE_SECONDS, ClaimedTask, Task
from agentpress.repositories import tasks

log = logging.getLogger("agentpress.services.worker")

Handler = Callable[[Task], Awaitable[dict[str, Any]]]
"""Runs one task: takes it, returns its output; an exception fails the attempt (retried while attempts last)."""
Pool = AsyncConnectionPool[AsyncConnection[Any]]


async def echo(task: Task) -> dict[str, Any]:
    """The default handler: the output is the input."""
    return task.input


def load_handler(spec: str) -> Handler:
    """The async function named `module:function`."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"--handler {spec!r}: expected module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--handler {spec!r}: {exc}") from None
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise ValueError(f"--handler {spec!r}: {module_name} has no function {function_name}")
    return handler  # type: ignore[no-any-return]


@dataclass
class Worker:
    """Claims up to `concurrency` tasks at a time and runs each in its own asyncio task.

    Stops claiming when `stop` is set, after `max_tasks` claims, or (with `once`) when nothing is
    claimable; in every case it waits for the tasks it holds to finish before returning. The claim
    serves orgs in turn (least recently served first, see claim_tasks in sql/queries/tasks.sql), so
    one org's flood of high-priority tasks cannot starve another org's tasks on a shared worker.
    """

    pool: Pool
    worker_id: str
    handler: Handler = echo
    agent_ids: list[UUID] | None = None
    concurrency: int = 1
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    poll_seconds: float = 1.0
    max_tasks: int | None = None
    once: bool = False
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    claimed: int = 0

    async def run(self) -> int:
        """Work until told to stop; the number of tasks claimed."""
        running: set[asyncio.Task[None]] = set()
        slot_freed = asyncio.Event()
        try:
            while not self.stop.is_set():
                room = self.concurrency - len(running)
                if self.max_tasks is not None:
                    room = min(room, self.max_tasks - self.claimed)
                    if room <= 0 and not running:
                        break
                claimed: list[ClaimedTask] = []
                if room > 0:
                    async with self.pool.connection() as conn:
                        claimed = await tasks.claim_tasks(
                            conn,
                            org_id=None,
                            worker_id=self.worker_id,
                            agent_ids=self.agent_ids,
                            limit=room,
                            lease_seconds=self.lease_seconds,
                        )
                    self.claimed += len(claimed)
                for task in claimed:
                    job = asyncio.create_task(self._work(task))
                    running.add(job)
                    job.add_done_callback(running.discard)
                    job.add_done_callback(lambda _: slot_freed.set())
                if claimed and len(running) < self.concurrency:
                    continue  # there may be more to claim right away
                if not claimed and not running and self.once:
                    break
                # Wait for a free slot (when full) or the next poll (when the queue looked empty).
                slot_freed.clear()
                waiters = [asyncio.create_task(self.stop.wait()), asyncio.create_task(slot_freed.wait())]
                await asyncio.wait(
                    waiters,
                    timeout=None if len(running) >= self.concurrency else self.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for waiter in waiters:
                    waiter.cancel()
        finally:
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        return self.claimed

    async def _work(self, task: ClaimedTask) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(task))
        try:
            output = await self.handler(task)
        except Exception as exc:
            log.warning("task %s failed in attempt %d: %r", task.id, task.attempt, exc)
            async with self.pool.connection() as conn:
                finished = await tasks.fail_task(
                    conn, org_id=None, task_id=task.id, lease_token=task.lease_token, error=repr(exc), retryable=True
                )
        else:
            async with self.pool.connection() as conn:
                finished = await tasks.complete_task(
                    conn, org_id=None, task_id=task.id, lease_token=task.lease_token, output=output
                )
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        if finished is None:
            log.warning("task %s: its lease was lost or it was cancelled; the result is dropped", task.id)

    async def _heartbeat(self, task: ClaimedTask) -> None:
        """Extend the lease every third of it while the handler runs; stop once it is lost."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            async with self.pool.connection() as conn:
                held = await tasks.heartbeat_task(
                    conn, org_id=None, task_id=task.id, lease_token=task.lease_token, lease_seconds=self.lease_seconds
                )
            if held is None:
                log.warning("task %s: lease lost or task cancelled", task.id)
                return


async def run_worker(
    url: str,
    *,
    worker_id: str,
    handler: Handler,
    agent_ids: Sequence[UUID] | None,
    concurrency: int,
    lease_seconds: int,
    max_tasks: int | None,
    once: bool,
    pgbouncer: bool = False,
    prepare: bool = True,
) -> int:
    """The `agentpress worker` command: a pool of its own, stopping cleanly on SIGINT or SIGTERM.

    Behind PgBouncer (`pgbouncer`, see create_pool) its limits come from the alias of `url`; the ones
    below are then only checked, and a worker wanting them gets an alias of its own.
    """
    pool = create_pool(
        url,
        name="worker",
        min_size=1,
        max_size=concurrency * 2 + 1,
        timeout=30,
        statement_timeout_ms=30_000,
        idle_in_transaction_session_timeout_ms=60_000,
        pgbouncer=pgbouncer,
        prepare=prepare,
    )
    await pool.open()
    try:
        worker = Worker(
            pool=pool,
            worker_id=worker_id,
            handler=handler,
            agent_ids=list(agent_ids) if agent_ids else None,
            concurrency=concurrency,
            lease_seconds=lease_seconds,
            max_tasks=max_tasks,
            once=once,
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, worker.stop.set)
        try:
            return await worker.run()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
    finally:
        await pool.close()
