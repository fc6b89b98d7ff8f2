"""The cache against a real Redis: hits, single flight, invalidation, and the database fallback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, TypeAdapter

from agentpress.web.cache import Cache, cache_key, connect_redis

pytestmark = pytest.mark.anyio


class Thing(BaseModel):
    name: str


ADAPTER = TypeAdapter(Thing)


class Loader:
    """A stand-in for a database read that counts its calls."""

    def __init__(self, name: str = "from the database", delay: float = 0.0) -> None:
        self.calls = 0
        self.name = name
        self.delay = delay

    async def __call__(self) -> Thing:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return Thing(name=self.name)


@pytest.fixture
async def cache(redis_url: str) -> AsyncIterator[Cache]:
    redis = connect_redis(redis_url, timeout_ms=200)
    yield Cache(redis)
    await redis.aclose()


def a_key() -> str:
    return cache_key(uuid.uuid4(), "thing", uuid.uuid4())


async def test_a_miss_loads_and_the_next_read_hits(cache: Cache) -> None:
    key, load = a_key(), Loader()
    assert await cache.get_or_load(key, ADAPTER, load) == Thing(name="from the database")
    assert await cache.get_or_load(key, ADAPTER, load) == Thing(name="from the database")
    assert load.calls == 1
    assert cache.redis is not None
    ttl = await cache.redis.ttl(key)
    assert 270 <= ttl <= 330


async def test_invalidation_makes_the_next_read_load_again(cache: Cache) -> None:
    key, load = a_key(), Loader()
    await cache.get_or_load(key, ADAPTER, load)
    await cache.invalidate(key)
    await cache.get_or_load(key, ADAPTER, load)
    assert load.calls == 2


async def test_a_hundred_concurrent_misses_load_once(cache: Cache) -> None:
    key, load = a_key(), Loader(delay=0.05)
    results = await asyncio.gather(*[cache.get_or_load(key, ADAPTER, load) for _ in range(100)])
    assert {result.name for result in results} == {"from the database"}
    assert load.calls == 1


async def test_a_load_in_another_process_overtaken_by_a_write_is_not_cached(cache: Cache, redis_url: str) -> None:
    key = a_key()
    other_redis = connect_redis(redis_url, timeout_ms=200)
    other_process = Cache(other_redis)  # its own in-process flights: only Redis is shared

    async def load_then_let_the_write_commit() -> Thing:
        await other_process.invalidate(key)  # another process commits a write mid-load
        return Thing(name="read before the write")

    assert (await cache.get_or_load(key, ADAPTER, load_then_let_the_write_commit)).name == "read before the write"
    assert await cache.get_or_load(key, ADAPTER, Loader("after the write")) == Thing(name="after the write")
    assert await other_process.get_or_load(key, ADAPTER, Loader("unused")) == Thing(name="after the write")
    await other_redis.aclose()


async def test_keys_are_scoped_by_org() -> None:
    thread = uuid.uuid4()
    assert cache_key(uuid.uuid4(), "thread", thread) != cache_key(uuid.uuid4(), "thread", thread)
    org = uuid.uuid4()
    assert cache_key(org, "thread", thread).startswith(f"ap:v1:{org}:")


async def test_without_redis_every_read_loads() -> None:
    cache, load = Cache(None), Loader()
    await cache.get_or_load(a_key(), ADAPTER, load)
    await cache.get_or_load(a_key(), ADAPTER, load)
    await cache.invalidate(a_key())
    assert load.calls == 2


async def test_redis_down_falls_back_to_the_loader_quickly() -> None:
    redis = connect_redis("redis://127.0.0.1:1/0", timeout_ms=50)
    cache, load = Cache(redis), Loader()
    key = a_key()
    for _ in range(5):
        assert await cache.get_or_load(key, ADAPTER, load) == Thing(name="from the database")
    await cache.invalidate(key)
    assert load.calls == 5
    await redis.aclose()


async def test_an_invalidation_that_fails_is_replayed_before_the_next_read(cache: Cache, redis_url: str) -> None:
    key = a_key()
    await cache.get_or_load(key, ADAPTER, Loader("old"))
    # Redis stops answering while a write invalidates the key...
    working = cache.redis
    cache.redis = connect_redis("redis://127.0.0.1:1/0", timeout_ms=50)
    await cache.invalidate(key)
    await cache.redis.aclose()
    # ...and answers again later: the old value must not be served.
    cache.redis = working
    cache._down_until = 0.0
    assert await cache.get_or_load(key, ADAPTER, Loader("new")) == Thing(name="new")


async def test_a_load_overtaken_by_a_write_is_not_cached(cache: Cache) -> None:
    key = a_key()
    slow = Loader("read before the write", delay=0.1)
    reading = asyncio.create_task(cache.get_or_load(key, ADAPTER, slow))
    await asyncio.sleep(0.02)
    await cache.invalidate(key)  # the write commits while the slow read is in flight
    await reading
    assert await cache.get_or_load(key, ADAPTER, Loader("after the write")) == Thing(name="after the write")


async def test_concurrent_misses_load_once_even_with_redis_down() -> None:
    redis = connect_redis("redis://127.0.0.1:1/0", timeout_ms=50)
    cache, load = Cache(redis), Loader(delay=0.05)
    results = await asyncio.gather(*[cache.get_or_load(a_key_for("same"), ADAPTER, load) for _ in range(100)])
    assert {result.name for result in results} == {"from the database"}
    assert load.calls == 1
    await redis.aclose()


_KEYS: dict[str, str] = {}


def a_key_for(name: str) -> str:
    return _KEYS.setdefault(name, a_key())
