"""Password hashing off the event loop, on a bounded number of threads with a bounded queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio

from agentpress.services.crypto import hash_password, verify_password
from agentpress.web.errors import ApiError

T = TypeVar("T")
# What a caller is told to wait when the queue is full: about one hash per waiting caller and thread.
RETRY_AFTER_SECONDS = 1


class PasswordWork:
    """argon2id costs a tenth of a second of CPU on purpose. At most `concurrency` hashes run at once (one
    per core: more would only share the cores), and at most `queue` more wait; past that the caller gets
    503 with Retry-After at once, so a flood of sign-ins costs bounded CPU and memory (64 MiB a hash)
    and never a database connection (the routes take none while hashing)."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._capacity = concurrency + queue
        self._admitted = 0

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> tuple[bool, bool]:
        """(matches, needs_rehash), as security.verify_password."""
        return await self._run(verify_password, password_hash, password)

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        if self._admitted >= self._capacity:
            raise ApiError(
                503,
                "busy",
                "too many sign-ins are being checked right now; try again shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._admitted += 1
        try:
            return await anyio.to_thread.run_sync(work, *args, limiter=self._limiter)
        finally:
            self._admitted -= 1
