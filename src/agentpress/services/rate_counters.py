"""Rate limits: fixed windows counted in Redis (one Lua call, shared by every process and host), or in
this process when Redis is off or down (never unlimited, never an error for the caller)."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agentpress.settings import Rate

log = logging.getLogger("agentpress.ratelimit")

# After a Redis failure, limits are counted in-process this long before Redis is tried again.
BACKOFF_SECONDS = 1.0
# In-process windows kept at most; past it the expired ones go, then the oldest (a flood of new keys
# must not grow memory without bound).
MAX_LOCAL_WINDOWS = 100_000
# Adds `cost` to the window's counter (0 only reads it), starting the window's clock on its first hit;
# answers the count and the milliseconds left in the window.
_HIT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int
    """Seconds until the window ends (at least 1); meaningful when not allowed."""


class RateLimiter:
    """Counts hits of a named limit per key (an IP, an email, an account and IP) in fixed windows."""

    def __init__(self, redis: Redis | None) -> None:
        self._redis = redis
        self._script = redis.register_script(_HIT) if redis is not None else None
        self._local: dict[str, tuple[float, int]] = {}
        self._down_until = 0.0

    async def hit(self, name: str, key: str, rate: Rate) -> Verdict:
        """Count one hit; allowed while the window holds at most `rate.count` hits, this one included."""
        return await self._count(name, key, rate, 1)

    async def check(self, name: str, key: str, rate: Rate) -> Verdict:
        """Whether one more hit would be allowed, without counting one."""
        return await self._count(name, key, rate, 0)

    async def _count(self, name: str, key: str, rate: Rate, cost: int) -> Verdict:
        # Keys are hashed: Redis holds no email addresses, and a long key costs nothing more.
        full_key = f"ap:rl:{name}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
        counted = await self._count_in_redis(full_key, rate, cost)
        count, millis_left = counted if counted is not None else self._count_locally(full_key, rate, cost)
        # A hit is allowed when the window, this hit included, holds at most rate.count; a check asks
        # whether one more hit would be.
        allowed = count + (1 - cost) <= rate.count
        return Verdict(allowed=allowed, retry_after=max(1, math.ceil(millis_left / 1000)))

    async def _count_in_redis(self, key: str, rate: Rate, cost: int) -> tuple[int, int] | None:
        if self._script is None or time.monotonic() < self._down_until:
            return None
        try:
            count, millis_left = await self._script(keys=[key], args=[cost, rate.seconds * 1000])
        except (TimeoutError, RedisError, OSError) as exc:
            self._down_until = time.monotonic() + BACKOFF_SECONDS
            log.warning("Redis rate limit failed, counting in this process for %.0fs: %s", BACKOFF_SECONDS, exc)
            return None
        return int(count), int(millis_left)

    def _count_locally(self, key: str, rate: Rate, cost: int) -> tuple[int, int]:
        now = time.monotonic()
        ends, count = self._local.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + rate.seconds, 0
        count += cost
        self._local[key] = (ends, count)
        if len(self._local) > MAX_LOCAL_WINDOWS:
            self._prune(now)
        return count, round((ends - now) * 1000)

    def _prune(self, now: float) -> None:
        self._local = {key: window for key, window in self._local.items() if window[0] > now}
        while len(self._local) > MAX_LOCAL_WINDOWS:
            del self._local[next(iter(self._local))]
