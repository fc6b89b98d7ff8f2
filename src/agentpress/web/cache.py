"""Cache-aside over Redis for hot reads: org-scoped keys, jittered TTLs, one load per key at a time, and
the database as the fallback whenever Redis is off, down, slow or wrong; the verified sessions, API keys
and org access of requests in a cache of their own (AuthCache) that also distrusts itself after an outage."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Generic, Protocol, TypeVar, cast
from uuid import UUID, uuid4

from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from agentpress.web.local_cache import ABSENT, LocalLayer
from agentpress.web.metrics import CACHE_HITS, CACHE_LOCAL_HITS, CACHE_MISSES, REDIS_FAILURES

log = logging.getLogger("agentpress.web.cache")

T = TypeVar("T")

TTL_SECONDS = 300
TTL_JITTER = 0.1  # ±10%, so that keys cached together do not all expire together
# After a Redis failure, requests skip Redis this long instead of each paying a timeout.
BACKOFF_SECONDS = 1.0
KEY_VERSION = "v1"  # bump when a cached shape changes, so old entries are never read
# Every key of Cache and AuthCache starts with it: the prefix whose changes Redis broadcasts to the local layers.
KEY_PREFIX = "ap:" + KEY_VERSION + ":"
# An invalidated key holds a unique marker instead of being deleted. A loader caches its value
# only if the key still holds what it saw before loading (nothing, or the same marker): a write
# that commits during the load, in this process or any other, leaves a new marker and the
# load's old value is dropped. One round trip, atomic in Redis.
INVALIDATED = b"ap-invalidated:"
_SET_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[2] == '') or current == ARGV[2] then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
    return 1
end
return 0
"""

# What an invalidation sends: the epoch bump when one is owed (then KEYS[1]), and the markers, in one script
# call. It replaced a redis-py pipeline of the same commands, which cost the service a quarter of an append's
# CPU in process (docs/benchmarks.md, issue 21). ARGV: the marker, its TTL, how many leading keys are the epoch.
_MARK = """
if ARGV[3] == '1' then
    redis.call('INCR', KEYS[1])
end
for i = tonumber(ARGV[3]) + 1, #KEYS do
    redis.call('SET', KEYS[i], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


class Codec(Protocol[T]):
    """How a value is stored: a pydantic TypeAdapter, or RAW for bytes kept as they are."""

    def validate_json(self, data: bytes, /) -> T: ...

    def dump_json(self, value: T, /) -> bytes: ...


class _Raw:
    """Bytes rendered once by the loader, served as they are: no parsing or validation per hit."""

    def validate_json(self, data: bytes, /) -> bytes:
        return data

    def dump_json(self, value: bytes, /) -> bytes:
        return value


RAW: Codec[bytes] = _Raw()


def connect_redis(url: str, timeout_ms: int) -> Redis:
    """A client with bounded socket timeouts and no retries: a slow cache must cost milliseconds."""
    timeout = timeout_ms / 1000
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


def cache_key(org_id: UUID, kind: str, *parts: object) -> str:
    """Every key starts with the org: no key of one org can name another org's data."""
    return ":".join(("ap", KEY_VERSION, str(org_id), kind, *(str(part) for part in parts)))


class HeldInvalidations:
    """Invalidations that wait for a transaction the request's handler runs in but does not commit: an idempotent
    request's (web/idempotent.py), committed after the handler has answered. While `holding`, invalidate collects
    their keys here; whoever commits then invalidates them."""

    def __init__(self) -> None:
        self.holding = False
        self.keys: list[str] = []


_HELD: ContextVar[HeldInvalidations | None] = ContextVar("agentpress_held_invalidations", default=None)


def hold_invalidations() -> HeldInvalidations:
    """A holder for the invalidations of this request (its task, and the tasks it starts), idle until `holding`."""
    held = HeldInvalidations()
    _HELD.set(held)
    return held


class _Keys:
    """What Cache and AuthCache share: one load per key at a time in this process, markers written
    after commit (and owed while Redis does not answer), and a short backoff after a failure."""

    SET_IF_UNCHANGED: str  # the compare-and-set script of the subclass
    FAILED = "Redis %s failed, reading the database for a second: %s"
    NAME: str  # the `cache` label of its metrics

    def __init__(self, redis: Redis | None, local: LocalLayer | None = None) -> None:
        self.redis = redis
        # Values read from Redis, kept in this process for a few seconds (web/local_cache.py); None: every read
        # goes to Redis. Shared by Cache and its AuthCache.
        self.local = local if redis is not None else None
        # A hit is a read answered without the database (from Redis, or from a concurrent load of the key);
        # a miss is a load. Nothing is counted while caching is off (no Redis).
        self.hit = CACHE_HITS.labels(self.NAME).inc
        self.miss = CACHE_MISSES.labels(self.NAME).inc
        self.local_hit = CACHE_LOCAL_HITS.labels(self.NAME).inc
        self._set_if_unchanged = redis.register_script(self.SET_IF_UNCHANGED) if redis is not None else None
        self._mark = redis.register_script(_MARK) if redis is not None else None
        self._flights: dict[str, _Flight] = {}
        self._down_until = 0.0
        # Keys whose invalidation failed: never served, and marked as soon as Redis answers again,
        # so that an outage during a write cannot leave the old value to be read afterwards.
        self._unflushed: set[str] = set()
        self._owes_epoch = False  # only AuthCache ever owes one

    @asynccontextmanager
    async def _flight(self, key: str) -> AsyncIterator[_Flight]:
        """The load of `key` in this process, entered by one request at a time."""
        flight = self._flights.setdefault(key, _Flight())
        flight.waiting += 1
        try:
            async with flight.lock:
                yield flight
        finally:
            flight.waiting -= 1
            if flight.waiting == 0:
                self._flights.pop(key, None)

    async def invalidate(self, *keys: str) -> None:
        """Forget these keys; call after the transaction that changed them has committed."""
        if self.redis is None or not keys:
            return
        held = _HELD.get()
        if held is not None and held.holding:
            held.keys.extend(keys)
            return
        if self.local is not None:  # this process first: its next read of these keys goes to Redis
            self.local.drop(*keys)
        for key in keys:
            if (flight := self._flights.get(key)) is not None:
                flight.forget()
        self._unflushed.update(keys)
        await self._flush()

    async def _flush(self) -> bool:
        """Pay what this process owes Redis: the epoch bump, then the pending markers; False while it cannot."""
        if not self._unflushed and not self._owes_epoch:
            return True
        pending = list(self._unflushed)
        try:
            # The keys for an epoch bump lead, and one new marker serves every key of the flush: each key's
            # marker still differs from whatever it held before.
            epoch = [AUTH_EPOCH_KEY] if self._owes_epoch else []
            await self._mark(  # type: ignore[misc]
                keys=[*epoch, *pending],
                args=[INVALIDATED + uuid4().hex.encode(), TTL_SECONDS, len(epoch)],
                client=self.redis,
            )
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("invalidate", exc)
            return False
        self._owes_epoch = False
        self._unflushed.difference_update(pending)
        return True

    def _is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _local(self) -> LocalLayer | None:
        """The local layer when it may serve: never while this process owes Redis an invalidation or an epoch
        bump, or backs off after a failure (what it holds may be what it could not invalidate)."""
        if self.local is None or self._unflushed or self._owes_epoch or self._is_down():
            return None
        return self.local

    def _from_memory(self, key: str) -> object:
        """What this process holds for `key` (a hit), or ABSENT."""
        local = self._local()
        held = ABSENT if local is None else local.get(key)
        if held is not ABSENT:
            self.hit()
            self.local_hit()
        return held

    def _failed(self, operation: str, exc: BaseException) -> None:
        self._down_until = time.monotonic() + BACKOFF_SECONDS
        REDIS_FAILURES.labels(self.NAME, operation).inc()
        log.warning(self.FAILED, operation, exc)


class Cache(_Keys):
    """Cache-aside reads and invalidation; with no Redis every read goes to the loader."""

    SET_IF_UNCHANGED = _SET_IF_UNCHANGED
    NAME = "data"

    def __init__(self, redis: Redis | None, local: LocalLayer | None = None) -> None:
        super().__init__(redis, local)
        self.auth = AuthCache(redis, local)

    async def get_or_load(self, key: str, adapter: Codec[T], load: Callable[[], Awaitable[T]]) -> T:
        """The cached value of `key`, else `load()`'s, cached. Concurrent misses of a key in this
        process wait for the first one's load instead of all reading the database."""
        if self.redis is None:
            return await load()
        if (held := self._from_memory(key)) is not ABSENT:
            return cast(T, held)
        ticket = self.local.ticket() if self.local is not None else 0
        found, _ = await self._read(key)
        if found is not None and (value := _parse(key, found, adapter)) is not None:
            self.hit()
            if self.local is not None:
                self.local.store(key, ticket, value, self.local.seconds)
            return value
        async with self._flight(key) as flight:
            # A load that finished while this request waited serves it too, even when Redis
            # is slow or down: concurrent misses of a key read the database once.
            if flight.result is not _UNSET:
                self.hit()
                return cast(T, flight.result)
            found, seen = await self._read(key)
            if found is not None and (value := _parse(key, found, adapter)) is not None:
                self.hit()
                return value
            generation = flight.generation
            self.miss()
            value = await load()
            if flight.generation == generation:  # no write committed during the load
                flight.result = value
            if value is not None and seen is not None:
                await self._set(key, adapter.dump_json(value), seen)
            return value

    async def _read(self, key: str) -> tuple[bytes | None, bytes | None]:
        """(a cached value, what the key held): the second is b"" for nothing, the marker if invalidated,
        and None when Redis cannot be trusted now (then nothing is cached either)."""
        if self._is_down() or not await self._flush():
            return None, None
        try:
            raw = cast("bytes | None", await self.redis.get(key))  # type: ignore[union-attr]
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("get", exc)
            return None, None
        if raw is None:
            return None, b""
        if raw.startswith(INVALIDATED):
            return None, raw
        return raw, raw

    async def _set(self, key: str, value: bytes, seen: bytes) -> None:
        if self._is_down():
            return
        ttl = round(TTL_SECONDS * random.uniform(1 - TTL_JITTER, 1 + TTL_JITTER))
        try:
            await self._set_if_unchanged(keys=[key], args=[value, seen, ttl])  # type: ignore[misc]
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("set", exc)


def _parse(key: str, raw: bytes, adapter: Codec[T]) -> T | None:
    try:
        return adapter.validate_json(raw)
    except ValidationError:
        log.warning("cache entry %s does not parse; reading the database", key)
        return None


_UNSET = object()


class _Flight:
    """The load of one key in progress, and how many requests wait on it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.result: object = _UNSET
        self.generation = 0  # bumped by each invalidation of the key

    def forget(self) -> None:
        """A write committed: the load in progress must not serve the requests waiting on it."""
        self.result, self.generation = _UNSET, self.generation + 1


# The epoch of every AuthCache entry: an entry is believed only while it carries the current epoch, so one
# INCR forgets them all, in every process and on every host that shares the Redis.
AUTH_EPOCH_KEY = "ap:" + KEY_VERSION + ":auth:epoch"
# An entry is stored as b"<epoch>|<json>". Stored only if the epoch and the key are still what the loader
# saw before it read the database (the compare-and-set of Cache, with the epoch as a second condition).
_AUTH_SET_IF_UNCHANGED = """
local epoch = redis.call('GET', KEYS[2]) or ''
if epoch ~= ARGV[4] then
    return 0
end
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[2] == '') or current == ARGV[2] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
    return 1
end
return 0
"""


def auth_key(kind: str, *parts: object) -> str:
    """The key of a verified credential (a session or an API key, by its token's hash): not an org's data."""
    return ":".join(("ap", KEY_VERSION, "auth", kind, *(str(part) for part in parts)))


class Cached(Generic[T]):
    """A value from the AuthCache, and the bytes its key held (for replace); raw is None when it came
    from the loader and could not be cached."""

    __slots__ = ("raw", "value")

    def __init__(self, value: T, raw: bytes | None) -> None:
        self.value = value
        self.raw = raw


class AuthCache(_Keys):
    """Who a bearer token is, cached: what every request reads before anything else.

    The discipline of Cache (markers written after commit, compare-and-set fills, one load per key at a
    time), with one more rule, because a stale entry here lets a revoked session in: a process trusts no
    entry while it owes Redis something. Any Redis failure it sees (an invalidation it could not deliver,
    or a read or write that failed) makes it owe an epoch bump: until one INCR of AUTH_EPOCH_KEY and the
    markers it could not write have gone through, its requests read PostgreSQL and cache nothing. The bump
    is what makes this safe for the other processes and hosts too: each of them reads the epoch with every
    entry (one MGET), so once any process that saw the outage reaches Redis again, every entry filled
    before it is dead everywhere. What remains is a process that cannot reach Redis while others can and
    is stopped before it does: its undelivered invalidation lasts at most the entries' TTL
    (SESSION_CACHE_SECONDS), the bound for every entry.
    """

    SET_IF_UNCHANGED = _AUTH_SET_IF_UNCHANGED
    NAME = "auth"
    FAILED = "Redis %s failed: sessions are read from the database until the session cache's epoch is bumped: %s"

    @property
    def trusted(self) -> bool:
        """Whether this process believes the cache now (for tests and /ready)."""
        return self.redis is not None and not self._owes_epoch and not self._unflushed and not self._is_down()

    async def get_or_load(
        self,
        key: str,
        adapter: TypeAdapter[T],
        load: Callable[[], Awaitable[T | None]],
        ttl: Callable[[T], float],
    ) -> Cached[T] | None:
        """The cached value of `key`, else `load()`'s, cached for ttl(value) seconds (nothing when that is
        not positive); None, never cached, when the loader finds nothing."""
        if self.redis is None:
            return _loaded(await load())
        if (held := self._from_memory(key)) is not ABSENT:
            return cast("Cached[T]", held)
        ticket = self.local.ticket() if self.local is not None else 0
        found = await self._read(key)
        if found is not None and found.value is not None and (value := _parse(key, found.value, adapter)) is not None:
            self.hit()
            cached = Cached(value, found.raw)
            if self.local is not None:
                # Never past what the entry verifies (a session's expiry or idle timeout, a key's expiry).
                self.local.store(key, ticket, cached, ttl(value))
            return cached
        async with self._flight(key) as flight:
            if flight.result is not _UNSET:
                self.hit()
                return cast("Cached[T] | None", flight.result)
            found = await self._read(key)
            if found is not None and found.value is not None and (value := _parse(key, found.value, adapter)):
                self.hit()
                return Cached(value, found.raw)
            generation = flight.generation
            self.miss()
            loaded = await load()
            result: Cached[T] | None = _loaded(loaded)
            if loaded is not None and found is not None and (seconds := ttl(loaded)) > 0:
                result = Cached(loaded, await self._set(key, adapter.dump_json(loaded), found, seconds))
            if flight.generation == generation:
                flight.result = result
            return result

    async def replace(self, key: str, cached: Cached[T], adapter: TypeAdapter[T], value: T, seconds: float) -> None:
        """Store `value` in place of `cached` if the key still holds exactly what was read (a session's new
        last_seen_at): never over a marker, a newer fill or another epoch."""
        if self.local is not None:  # a concurrent request of this process must not read the replaced value
            self.local.drop(key)
        if cached.raw is None or seconds <= 0 or not self.trusted:
            return
        epoch, _, _ = cached.raw.partition(b"|")
        await self._set(key, adapter.dump_json(value), _Found(None, cached.raw, epoch), seconds)

    async def forget_all(self) -> None:
        """Forget every entry, everywhere (an epoch bump); owed until Redis takes it."""
        if self.redis is None:
            return
        if self.local is not None:
            self.local.clear()
        for flight in self._flights.values():
            flight.forget()
        self._owes_epoch = True
        await self._flush()

    async def _read(self, key: str) -> _Found | None:
        """What the key holds and the epoch, or None when the cache cannot be trusted now (nothing is
        cached then either)."""
        if self._is_down() or not await self._flush():
            return None
        try:
            raw, epoch = cast(
                "list[bytes | None]",
                await self.redis.mget(key, AUTH_EPOCH_KEY),  # type: ignore[union-attr]
            )
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        epoch = epoch or b""
        if raw is None or raw.startswith(INVALIDATED):
            return _Found(None, raw or b"", epoch)
        entry_epoch, _, value = raw.partition(b"|")
        return _Found(value if entry_epoch == epoch else None, raw, epoch)

    async def _set(self, key: str, value: bytes, found: _Found, seconds: float) -> bytes | None:
        """Store value if nothing changed since `found` was read; the bytes stored, or None."""
        if self._is_down():
            return None
        raw = found.epoch + b"|" + value
        try:
            stored = await self._set_if_unchanged(  # type: ignore[misc]
                keys=[key, AUTH_EPOCH_KEY], args=[raw, found.raw, max(1, int(seconds * 1000)), found.epoch]
            )
        except (TimeoutError, RedisError, OSError) as exc:
            self._failed("set", exc)
            return None
        return raw if stored == 1 else None

    def _failed(self, operation: str, exc: BaseException) -> None:
        # Whatever failed, an invalidation from this process or another may have been lost with it.
        self._owes_epoch = True
        super()._failed(operation, exc)


class _Found:
    """What an AuthCache key held: the value's JSON when it is a live entry of the current epoch, the raw
    bytes (b"" for nothing) for the compare-and-set, and the epoch read with it."""

    __slots__ = ("epoch", "raw", "value")

    def __init__(self, value: bytes | None, raw: bytes, epoch: bytes) -> None:
        self.value = value
        self.raw = raw
        self.epoch = epoch


def _loaded(value: T | None) -> Cached[T] | None:
    return None if value is None else Cached(value, None)
