"""Leader election for the loops that run once per deployment: a session-level advisory lock, direct connection."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import psycopg

from agentpress.repositories import leadership
from agentpress.web.metrics import LOOP_LEADER

Work = Callable[[], Coroutine[Any, Any, None]]
"""What the leader runs until cancelled: a loop such as services.reporting.run_refresh_loop."""

# A connection that answers nothing for this long is taken as gone (a network partition sends no RST).
CHECK_TIMEOUT_SECONDS = 10.0


def lock_key(name: str) -> int:
    """The advisory lock of the loop `name`: the same in every process and release, and positive (63 bits)."""
    return int.from_bytes(hashlib.sha256(f"agentpress leader: {name}".encode()).digest()[:8]) >> 1


class Leader:
    """Runs a loop in one process of a deployment at a time.

    Every process runs `lead`; the one whose direct connection takes the advisory lock runs the work.
    The others try again every `every` seconds. The server releases the lock when the leader's session
    ends, however its process ended (a crash, a kill, a lost network), so another takes over within
    `every` seconds of that. The leader checks its connection as often, and stops its work when the
    connection is gone: the lock is then released and may already be another's.
    """

    def __init__(self, name: str, url: str, *, every: float, log: logging.Logger) -> None:
        self.name, self.url, self.every, self.log = name, url, every, log
        self.key = lock_key(name)
        self.is_leading = False
        # agentpress_loop_leader{loop=name}: 0 from the start, 1 while this process leads (several Leaders of one
        # name in a process, as in tests, add up).
        self._leading = LOOP_LEADER.labels(name)

    async def lead(self, work: Work) -> None:
        """Take part in the election until cancelled, running `work` while this process leads."""
        while True:
            try:
                await self._elect_and_run(work)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                self.log.warning("%s: no leader connection: %s", self.name, exc, extra={"loop": self.name})
            except Exception:
                self.log.exception("%s: the leader election failed", self.name, extra={"loop": self.name})
            await asyncio.sleep(self.every)

    async def _elect_and_run(self, work: Work) -> None:
        # autocommit: the lock belongs to the session, not to a transaction that would end with a statement.
        async with await psycopg.AsyncConnection.connect(
            self.url,
            autocommit=True,
            application_name="agentpress-leader",
            connect_timeout=10,
            # The lock is dropped only when the server sees this session end: keepalives let it see a leader
            # whose host died or whose network went, within about half a minute instead of the OS's two hours.
            options="-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
        ) as conn:
            while True:
                if await leadership.try_lock_leadership(conn, key=self.key):
                    break
                await asyncio.sleep(self.every)
            self.log.info(
                "this process leads %s",
                self.name,
                extra={"loop": self.name, "backend_pid": conn.info.backend_pid},
            )
            self.is_leading = True
            self._leading.inc()
            task = asyncio.create_task(work())
            try:
                while not task.done():
                    await asyncio.wait({task}, timeout=self.every)
                    if task.done():
                        break
                    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                        held = await leadership.holds_leadership(conn, key=self.key)
                    if not held:  # not expected while the session lives; stand for election again
                        self.log.warning("%s: the leader lock is gone", self.name, extra={"loop": self.name})
                        return
                task.result()  # the work ended on its own: say why, then stand for election again
            finally:
                self.is_leading = False
                self._leading.dec()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
