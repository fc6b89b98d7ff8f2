"""The local layer against a real Redis: a hot read sends Redis nothing, every change of a key (by this process,
another one or by hand) drops it, a change received while a read is in flight leaves nothing behind, and a lost
subscription serves nothing until it is back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis
from helpers import bearer, register
from litestar.testing import TestClient
from pydantic import BaseModel, TypeAdapter

from agentpress.settings import Settings
from agentpress.web.app import create_app
from agentpress.web.cache import AUTH_EPOCH_KEY, KEY_PREFIX, Cache, auth_key, cache_key, connect_redis
from agentpress.web.lifespan import resources
from agentpress.web.local_cache import ABSENT, LocalLayer, run_invalidation_listener

pytestmark = pytest.mark.anyio


class Thing(BaseModel):
    name: str


ADAPTER = TypeAdapter(Thing)


class Loader:
    def __init__(self, name: str = "from the database") -> None:
        self.calls = 0
        self.name = name

    async def __call__(self) -> Thing:
        self.calls += 1
        return Thing(name=self.name)


async def wait_until(predicate: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


class Process:
    """What one service process holds: its clients, its layer and its subscriber."""

    def __init__(self, redis_url: str) -> None:
        self.redis = connect_redis(redis_url, timeout_ms=500)
        self.layer = LocalLayer(30)
        self.cache = Cache(self.redis, self.layer)
        self.task = asyncio.create_task(
            run_invalidation_listener(redis_url, self.layer, prefix=KEY_PREFIX, epoch_key=AUTH_EPOCH_KEY)
        )

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.redis.aclose()


@pytest.fixture
async def process(redis_url: str) -> AsyncIterator[Process]:
    found = Process(redis_url)
    await wait_until(lambda: found.layer.serving)
    yield found
    await found.close()


@pytest.fixture
async def other(redis_url: str) -> AsyncIterator[Cache]:
    """Another process, as far as Redis can tell: a client and a cache of its own, no layer."""
    redis = connect_redis(redis_url, timeout_ms=500)
    yield Cache(redis)
    await redis.aclose()


async def fill(process: Process, key: str, load: Callable[[], Any]) -> None:
    """Load `key` into Redis through this process, and wait for Redis's news of that write (it drops the key here)."""
    drops = process.layer.ticket()
    await process.cache.get_or_load(key, ADAPTER, load)
    await wait_until(lambda: process.layer.ticket() > drops)


def a_key() -> str:
    return cache_key(uuid.uuid4(), "thing", uuid.uuid4())


async def reads(process: Process) -> int:
    """The GET and MGET commands Redis has run so far."""
    stats: dict[str, Any] = await process.redis.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("get", "mget"))


async def test_a_hot_read_sends_redis_nothing(process: Process) -> None:
    key, load = a_key(), Loader()
    await fill(process, key, load)  # loaded and filled; the fill drops it everywhere
    before = await reads(process)
    assert await process.cache.get_or_load(key, ADAPTER, load) == Thing(name="from the database")  # from Redis
    assert await reads(process) == before + 1
    for _ in range(5):
        assert await process.cache.get_or_load(key, ADAPTER, load) == Thing(name="from the database")
    assert await reads(process) == before + 1
    assert load.calls == 1


async def test_a_change_by_another_process_or_by_hand_drops_the_key(process: Process, other: Cache) -> None:
    key, load = a_key(), Loader()
    await fill(process, key, load)
    await process.cache.get_or_load(key, ADAPTER, load)
    assert process.layer.get(key) is not ABSENT
    await other.invalidate(key)
    await wait_until(lambda: process.layer.get(key) is ABSENT)
    await fill(process, key, Loader("changed"))
    assert await process.cache.get_or_load(key, ADAPTER, load) == Thing(name="changed")
    assert process.layer.get(key) is not ABSENT

    # By hand: a key set in redis-cli, and the session cache's epoch, which ends every entry.
    assert process.redis is not None
    await process.redis.set(key, b'{"name": "by hand"}')
    await wait_until(lambda: process.layer.get(key) is ABSENT)
    assert await process.cache.get_or_load(key, ADAPTER, load) == Thing(name="by hand")
    assert process.layer.get(key) is not ABSENT
    await process.redis.incr(AUTH_EPOCH_KEY)
    await wait_until(lambda: len(process.layer) == 0)


async def test_this_process_drops_its_own_keys_before_redis_hears_of_it(process: Process) -> None:
    key = a_key()
    await fill(process, key, Loader())
    await process.cache.get_or_load(key, ADAPTER, Loader())
    assert process.layer.get(key) is not ABSENT
    process.layer.drop(key)  # what invalidate does first, before its round trip
    assert process.layer.get(key) is ABSENT


@pytest.mark.parametrize("message_first", [True, False], ids=["message-before-store", "message-after-store"])
async def test_a_change_received_while_a_read_is_in_flight_leaves_nothing(
    process: Process, other: Cache, message_first: bool
) -> None:
    key = a_key()
    await other.get_or_load(key, ADAPTER, Loader("old"))  # in Redis, not in this process
    redis = process.redis
    assert redis is not None
    real_get = redis.get
    drops = process.layer.ticket()

    async def get_then_another_process_writes(name: str) -> Any:
        value = await real_get(name)  # the old value: Redis ran this GET before the write
        await other.invalidate(key)
        if message_first:  # the subscription's message is in before this reply is used
            await wait_until(lambda: process.layer.ticket() > drops)
        return value

    redis.get = get_then_another_process_writes  # type: ignore[method-assign]
    try:
        assert await process.cache.get_or_load(key, ADAPTER, Loader("new")) == Thing(name="old")
    finally:
        del redis.get
    await wait_until(lambda: process.layer.ticket() > drops)
    assert process.layer.get(key) is ABSENT
    assert await process.cache.get_or_load(key, ADAPTER, Loader("new")) == Thing(name="new")


async def test_a_session_read_in_flight_when_the_epoch_moves_is_not_kept(process: Process) -> None:
    key = auth_key("session", uuid.uuid4().hex)
    auth = process.cache.auth

    async def load() -> Thing:
        return Thing(name="ada")

    drops = process.layer.ticket()
    await auth.get_or_load(key, ADAPTER, load, lambda _: 60)
    await wait_until(lambda: process.layer.ticket() > drops)  # the news of its own fill
    redis = process.redis
    assert redis is not None
    real_mget = redis.mget
    drops = process.layer.ticket()

    async def mget_then_the_epoch_moves(*names: str) -> Any:
        values = await real_mget(*names)
        await redis.incr(AUTH_EPOCH_KEY)  # by an operator, say
        await wait_until(lambda: process.layer.ticket() > drops)
        return values

    redis.mget = mget_then_the_epoch_moves  # type: ignore[method-assign]
    try:
        cached = await auth.get_or_load(key, ADAPTER, load, lambda _: 60)
    finally:
        del redis.mget
    assert cached is not None and cached.value == Thing(name="ada")
    assert process.layer.get(key) is ABSENT


async def test_a_session_is_kept_no_longer_than_it_is_valid(process: Process) -> None:
    key = auth_key("session", uuid.uuid4().hex)
    auth = process.cache.auth

    async def load() -> Thing:
        return Thing(name="ada")

    drops = process.layer.ticket()
    await auth.get_or_load(key, ADAPTER, load, lambda _: 60)
    await wait_until(lambda: process.layer.ticket() > drops)
    await auth.get_or_load(key, ADAPTER, load, lambda _: 0.2)  # from Redis; valid 0.2 s more
    assert process.layer.get(key) is not ABSENT
    await asyncio.sleep(0.3)
    assert process.layer.get(key) is ABSENT


async def test_a_lost_subscription_serves_nothing_until_it_is_back(process: Process, redis_url: str) -> None:
    key, load = a_key(), Loader()
    await fill(process, key, load)
    await process.cache.get_or_load(key, ADAPTER, load)
    assert process.layer.get(key) is not ABSENT
    subscriptions = process.layer.subscriptions
    assert process.redis is not None
    await process.redis.client_kill_filter(_type="pubsub")
    await wait_until(lambda: not process.layer.serving)
    assert len(process.layer) == 0
    before = await reads(process)
    await process.cache.get_or_load(key, ADAPTER, load)
    await process.cache.get_or_load(key, ADAPTER, load)
    assert await reads(process) == before + 2  # nothing kept while unsubscribed
    # Subscribed again (after RECONNECT_SECONDS): kept again, from a fresh read.
    await wait_until(lambda: process.layer.serving and process.layer.subscriptions == subscriptions + 1)
    await process.cache.get_or_load(key, ADAPTER, load)
    before = await reads(process)
    await process.cache.get_or_load(key, ADAPTER, load)
    assert await reads(process) == before
    assert load.calls == 1


def test_the_layer_is_bounded() -> None:
    layer = LocalLayer(30, max_entries=3, max_bytes=1600)
    layer.subscribed()
    for n in range(5):
        layer.store(f"k{n}", layer.ticket(), n, 30)
    assert len(layer) == 3 and layer.get("k0") is ABSENT and layer.get("k4") == 4
    layer.get("k2")  # used: the least recently used goes first
    layer.store("k5", layer.ticket(), 5, 30)
    assert layer.get("k3") is ABSENT and layer.get("k2") == 2
    layer.store("big", layer.ticket(), b"x" * 90, 30)
    layer.store("bigger", layer.ticket(), b"x" * 101, 30)  # over a sixteenth of the budget: not kept
    assert layer.get("bigger") is ABSENT and layer.get("big") == b"x" * 90
    layer.lost()
    assert len(layer) == 0
    layer.store("k6", layer.ticket(), 6, 30)
    assert len(layer) == 0


def test_a_hot_get_thread_sends_redis_no_command(make_settings: Callable[..., Settings], redis_url: str) -> None:
    settings = make_settings(session_cache_seconds=60, local_cache_seconds=30)
    with TestClient(app=create_app(settings)) as client:
        layer = resources(client.app.state).cache.local
        assert layer is not None
        deadline = time.monotonic() + 10
        while not layer.serving:
            assert time.monotonic() < deadline, "never subscribed"
            time.sleep(0.01)
        headers = bearer(register(client, "ada@example.com")["token"])
        thread = client.post("/api/v1/threads", json={"name": "hot"}, headers=headers).json()
        url = f"/api/v1/threads/{thread['id']}"
        store = redis.Redis.from_url(redis_url)

        def commands() -> int:
            """Every command Redis has run but the subscriber's PINGs and these INFOs."""
            stats: dict[str, Any] = store.info("commandstats")
            return sum(
                int(value["calls"]) for name, value in stats.items() if name not in ("cmdstat_ping", "cmdstat_info")
            )

        # Loaded, filled (each fill drops the key here), read back from Redis: then from memory.
        for _ in range(5):
            assert client.get(url, headers=headers).status_code == 200
            time.sleep(0.05)
        before = commands()
        for _ in range(3):
            assert client.get(url, headers=headers).json()["name"] == "hot"
        assert commands() == before
        store.close()


async def test_a_session_cache_that_owes_redis_serves_nothing_from_memory(process: Process, redis_url: str) -> None:
    key = auth_key("session", uuid.uuid4().hex)
    auth = process.cache.auth
    loads: list[str] = []

    async def load() -> Thing:
        loads.append(key)
        return Thing(name="ada")

    drops = process.layer.ticket()
    await auth.get_or_load(key, ADAPTER, load, lambda _: 60)
    await wait_until(lambda: process.layer.ticket() > drops)
    await auth.get_or_load(key, ADAPTER, load, lambda _: 60)
    assert process.layer.get(key) is not ABSENT and auth.trusted
    # Redis stops answering for longer than the client waits: the next read fails, and the process owes an
    # epoch increment (an invalidation may have been lost with it).
    other = connect_redis(redis_url, timeout_ms=2000)
    try:
        await other.execute_command("CLIENT", "PAUSE", 1200, "ALL")
        await auth.get_or_load(auth_key("session", uuid.uuid4().hex), ADAPTER, load, lambda _: 60)
        assert not auth.trusted
        assert process.layer.get(key) is not ABSENT  # still held, but not served:
        loads.clear()
        await auth.get_or_load(key, ADAPTER, load, lambda _: 60)
        assert loads == [key]
    finally:
        await other.execute_command("CLIENT", "UNPAUSE")
        await other.aclose()
