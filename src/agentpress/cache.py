"""Cache-aside over Redis for hot reads: org-scoped keys, jittered TTLs, one load per key at a time, and
the database as the fallback whenever Redis is off, down, slow or wrong."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger("agentpress.cache")

T = TypeVar("T")

TTL_SECONDS = 300
TTL_JITTER = 0.1  # ±10%, so that keys cached together do not all expire together
# After a Redis failure, requests skip Redis this long instead of each paying a timeout.
BACKOFF_SECONDS = 1.0
KEY_VERSION = "v1"  # bump when a cached shape changes, so old entries are never read


def connect_redis(url: str, timeout_ms: int) -> Redis:
    """A client with bounded socket timeouts and no retries: a slow cache must cost milliseconds."""
    timeout = timeout_ms / 1000
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


def cache_key(org_id: UUID, kind: str, *parts: object) -> str:
    """Every key starts with the org: no key of one org can name another org's data."""
    return ":".join(("ap", KEY_VERSION, str(org_id), kind, *(str(part) for part in parts)))


class Cache:
    """Cache-aside reads and invalidation; with no Redis every read goes to the loader."""

    def __init__(self, redis: Redis | None) -> None:
        self.redis = redis
        self._flights: dict[str, _Flight] = {}
        self._down_until = 0.0
        # Keys whose invalidation failed: never served, and deleted as soon as Redis answers again,
        # so that an outage during a write cannot leave the old value to be read afterwards.
        self._unflushed: set[str] = set()

    async def get_or_load(self, key: str, adapter: TypeAdapter[T], load: Callable[[], Awaitable[T]]) -> T:
        """The cached value of `key`, else `load()`'s, cached. Concurrent misses of a key in this
        process wait for the first one's load instead of all reading the database."""
        if self.redis is None:
            return await load()
        found = await self._get(key, adapter)
        if found is not None:
            return found
        flight = self._flights.setdefault(key, _Flight())
        flight.waiting += 1
        try:
            async with flight.lock:
                found = await self._get(key, adapter)
                if found is not None:
                    return found
                flight.stale = False
                value = await load()
                # A write that committed during the load may have read-after-write readers next:
                # its value must not be cached over by what this load read before it.
                if value is not None and not flight.stale:
                    await self._set(key, adapter.dump_json(value))
                return value
        finally:
            flight.waiting -= 1
            if flight.waiting == 0:
                self._flights.pop(key, None)

    async def invalidate(self, *keys: str) -> None:
        """Forget these keys; call after the transaction that changed them has committed."""
        if self.redis is None or not keys:
            return
        for key in keys:
            if (flight := self._flights.get(key)) is not None:
                flight.stale = True
        self._unflushed.update(keys)
        await self._flush()

    async def _flush(self) -> bool:
        """Delete the keys whose invalidation is pending; False while Redis does not answer."""
        if not self._unflushed:
            return True
        pending = list(self._unflushed)
        try:
            await self.redis.delete(*pending)  # type: ignore[union-attr]
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("delete", exc)
            return False
        self._unflushed.difference_update(pending)
        return True

    async def _get(self, key: str, adapter: TypeAdapter[T]) -> T | None:
        if self._is_down() or not await self._flush():
            return None
        try:
            raw = await self.redis.get(key)  # type: ignore[union-attr]
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        if raw is None:
            return None
        try:
            return adapter.validate_json(raw)
        except ValidationError:
            log.warning("cache entry %s does not parse; reading the database", key)
            return None

    async def _set(self, key: str, value: bytes) -> None:
        if self._is_down():
            return
        ttl = round(TTL_SECONDS * random.uniform(1 - TTL_JITTER, 1 + TTL_JITTER))
        try:
            await self.redis.set(key, value, ex=ttl)  # type: ignore[union-attr]
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("set", exc)

    def _is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _failed(self, operation: str, exc: BaseException) -> None:
        self._down_until = time.monotonic() + BACKOFF_SECONDS
        log.warning("Redis %s failed, reading the database for %.0fs: %s", operation, BACKOFF_SECONDS, exc)


class _Flight:
    """The load of one key in progress, and how many requests wait on it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.stale = False
