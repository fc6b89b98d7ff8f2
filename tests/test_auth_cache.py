"""The session cache's own rules (web/cache.py AuthCache) against real Redis, with two caches on one Redis standing
for two processes or hosts: the epoch every entry carries, and what a process does after Redis failed it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import pytest
import redis.asyncio
from pydantic import BaseModel, TypeAdapter

from agentpress.web.cache import AuthCache, auth_key, connect_redis

pytestmark = pytest.mark.anyio

UNREACHABLE = "redis://127.0.0.1:1/0"


class Who(BaseModel):
    name: str


ADAPTER: TypeAdapter[Who] = TypeAdapter(Who)


def loader(name: str, calls: list[str] | None = None) -> Callable[[], Awaitable[Who | None]]:
    async def load() -> Who | None:
        if calls is not None:
            calls.append(name)
        return Who(name=name)

    return load


def ttl(_: Who) -> float:
    return 60.0


def a_key() -> str:
    return auth_key("session", uuid4().hex)


@pytest.fixture
async def processes(redis_url: str) -> AsyncIterator[tuple[AuthCache, AuthCache]]:
    first, second = connect_redis(redis_url, 200), connect_redis(redis_url, 200)
    yield AuthCache(first), AuthCache(second)
    await first.aclose()
    await second.aclose()


async def name_of(cache: AuthCache, key: str, load: Callable[[], Awaitable[Who | None]]) -> str:
    cached = await cache.get_or_load(key, ADAPTER, load, ttl)
    assert cached is not None
    return cached.value.name


async def cut_off(cache: AuthCache) -> redis.asyncio.Redis:
    """Make Redis unreachable for this cache; the working client, to give back with reconnect."""
    working = cache.redis
    assert working is not None
    cache.redis = connect_redis(UNREACHABLE, 50)
    return working


async def reconnect(cache: AuthCache, working: redis.asyncio.Redis) -> None:
    assert cache.redis is not None
    await cache.redis.aclose()
    cache.redis = working
    cache._down_until = 0.0  # the backoff is over


async def test_an_entry_is_read_from_the_loader_once_then_from_redis(
    processes: tuple[AuthCache, AuthCache], redis_url: str
) -> None:
    a, b = processes
    key, calls = a_key(), []
    assert await name_of(a, key, loader("ada", calls)) == "ada"
    assert await name_of(b, key, loader("ada", calls)) == "ada"
    assert calls == ["ada"]
    client = redis.asyncio.Redis.from_url(redis_url)
    assert 0 < await client.pttl(key) <= 60_000
    await client.aclose()


async def test_an_invalidation_in_one_process_is_seen_by_the_other(processes: tuple[AuthCache, AuthCache]) -> None:
    a, b = processes
    key = a_key()
    await name_of(a, key, loader("old"))
    await a.invalidate(key)
    assert await name_of(b, key, loader("new")) == "new"


async def test_a_process_whose_invalidation_failed_trusts_nothing_until_it_has_bumped_the_epoch(
    processes: tuple[AuthCache, AuthCache],
) -> None:
    a, b = processes
    key, other_key = a_key(), a_key()
    await name_of(a, key, loader("old"))
    await name_of(a, other_key, loader("someone else"))
    working = await cut_off(a)
    await a.invalidate(key)  # the write committed; Redis did not take the marker
    assert not a.trusted
    # While it owes Redis the bump, every read of this process goes to the loader, for every key, and
    # nothing it loads is cached.
    calls: list[str] = []
    assert await name_of(a, key, loader("new", calls)) == "new"
    assert await name_of(a, other_key, loader("someone else", calls)) == "someone else"
    assert calls == ["new", "someone else"]
    # Redis answers again: the first read pays the bump, which forgets every entry in every process, so
    # the other process cannot serve the entry that the lost marker should have killed.
    await reconnect(a, working)
    assert await name_of(a, key, loader("new")) == "new"
    assert a.trusted
    assert await name_of(b, key, loader("new")) == "new"
    assert await name_of(b, other_key, loader("reloaded")) == "reloaded"


async def test_a_process_that_saw_redis_fail_at_all_bumps_the_epoch_when_it_returns(
    processes: tuple[AuthCache, AuthCache],
) -> None:
    a, b = processes
    key = a_key()
    await name_of(a, key, loader("old"))
    # b's read fails: an invalidation from another process may have been lost in the same outage.
    working = await cut_off(b)
    assert await name_of(b, key, loader("from the database")) == "from the database"
    assert not b.trusted
    await reconnect(b, working)
    assert await name_of(b, key, loader("new")) == "new"
    assert await name_of(a, key, loader("new")) == "new"


async def test_a_fill_that_began_before_an_epoch_bump_is_not_cached(processes: tuple[AuthCache, AuthCache]) -> None:
    a, b = processes
    key = a_key()

    async def overtaken() -> Who | None:
        await b.forget_all()  # another process bumps the epoch while this one reads the database
        return Who(name="read before the bump")

    assert await name_of(a, key, overtaken) == "read before the bump"
    assert await name_of(a, key, loader("read after it")) == "read after it"


async def test_nothing_is_cached_for_a_credential_the_loader_does_not_find(
    processes: tuple[AuthCache, AuthCache], redis_url: str
) -> None:
    a, _ = processes
    key = a_key()

    async def nobody() -> Who | None:
        return None

    assert await a.get_or_load(key, ADAPTER, nobody, ttl) is None
    client = redis.asyncio.Redis.from_url(redis_url)
    assert await client.exists(key) == 0
    await client.aclose()


async def test_replace_never_lands_over_an_invalidation(processes: tuple[AuthCache, AuthCache]) -> None:
    a, b = processes
    key = a_key()
    cached = await a.get_or_load(key, ADAPTER, loader("seen a minute ago"), ttl)
    assert cached is not None
    await b.invalidate(key)
    await a.replace(key, cached, ADAPTER, Who(name="touched"), 60)
    assert await name_of(a, key, loader("reloaded")) == "reloaded"
