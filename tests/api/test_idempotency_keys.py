"""Idempotency-Key on the POSTs that create or append: a retry gets the first answer and writes nothing; another
body is 422, a duplicate in flight 409 with Retry-After, concurrent retries write once; keys are per caller; old
answers expire and are purged; the header's rules and its place in the OpenAPI document."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from helpers import People, bearer, holding_lock, register_at, serving
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services import idempotency
from agentpress.settings import Settings
from agentpress.web import idempotent
from agentpress.web.app import create_app
from agentpress.web.connections import RequestDatabase
from agentpress.web.idempotent import MAX_KEY_LENGTH

API = "/api/v1"
KEY = "Idempotency-Key"


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: its owner (the platform admin), a member, the agent runtime's API key; an agent, a thread
    of the member's and a knowledge base."""
    people = people_factory
    people.add("member")
    people["agent"] = people.agent("admin")
    people["runtime"] = people.api_key("admin", ["messages:read", "messages:write"], name="runtime")
    created = people.client.post(f"{API}/threads", json={"name": "Chat"}, headers=people.headers("member"))
    assert created.status_code == 201, created.text
    people["thread"] = created.json()["id"]
    kb = people.client.post(f"{API}/knowledge-bases", json={"name": "kb"}, headers=people.headers("admin"))
    assert kb.status_code == 201, kb.text
    people["kb"] = kb.json()["id"]
    return people


@dataclass(frozen=True)
class Route:
    """An idempotent route: where to post, as whom, a body, and the table each write adds a row to."""

    path: str
    who: str
    body: dict[str, Any]
    table: str


def route(people: People, name: str) -> Route:
    kb = f"{API}/knowledge-bases/{people['kb']}"
    message = {"messages": [{"role": "user", "parts": [{"type": "text", "text": "hello"}]}]}
    routes = {
        "thread": Route(f"{API}/threads", "member", {"name": "Retried"}, "threads"),
        "message": Route(f"{API}/threads/{people['thread']}/messages", "member", message, "messages"),
        "task": Route(f"{API}/tasks", "member", {"agent_id": people["agent"], "input": {"q": 1}}, "tasks"),
        "agent": Route(f"{API}/agents", "admin", {"name": "Retried agent"}, "agents"),
        "file": Route(f"{kb}/files", "admin", {"name": "a.txt", "storage_uri": "s3://a"}, "knowledge_base_files"),
        "freeform text": Route(
            f"{kb}/freeform-texts", "admin", {"title": "t", "content": "c"}, "knowledge_base_freeform_texts"
        ),
        "table": Route(
            f"{kb}/tables", "admin", {"name": "t", "columns": [{"name": "a", "type": "text"}]}, "knowledge_base_tables"
        ),
        "web url": Route(f"{kb}/web-urls", "admin", {"url": "https://example.com"}, "knowledge_base_web_urls"),
    }
    return routes[name]


ROUTES = ["thread", "message", "task", "agent", "file", "freeform text", "table", "web url"]


def count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (a table named by the test)
    assert row is not None
    found: int = row[0]
    return found


def post(
    people: People, target: Route, key: str | None, body: dict[str, Any] | None = None, who: str | None = None
) -> httpx.Response:
    extra = {KEY: key} if key is not None else {}
    return people.client.post(
        target.path, json=target.body if body is None else body, headers=people.headers(who or target.who) | extra
    )


@pytest.mark.parametrize("name", ROUTES)
def test_a_retry_gets_the_first_answer_unchanged_and_writes_nothing(people: People, name: str) -> None:
    target = route(people, name)
    before = count(people.database_url, target.table)
    first = post(people, target, "retry-1")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    for _ in range(2):
        again = post(people, target, "retry-1")
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        assert again.headers.get("location") == first.headers.get("location")
        assert again.headers["idempotent-replayed"] == "true"
    assert count(people.database_url, target.table) == before + 1
    # A new key is a new request; no key at all, as before.
    assert post(people, target, "retry-2").json() != first.json()
    assert post(people, target, None).status_code == 201
    assert post(people, target, None).status_code == 201
    assert count(people.database_url, target.table) == before + 4


def test_an_api_key_retrying_an_append_writes_once(people: People) -> None:
    target = route(people, "message")
    body = {"messages": [{"role": "assistant", "parts": [{"type": "text", "text": "hi"}], "model": "m"}]}
    runtime = people["runtime"] | {KEY: "turn-7"}
    first = people.client.post(target.path, json=body, headers=runtime)
    again = people.client.post(target.path, json=body, headers=runtime)
    assert first.status_code == again.status_code == 201, first.text
    assert again.content == first.content
    assert count(people.database_url, "messages") == 1
    thread = people.client.get(f"{API}/threads/{people['thread']}", headers=people.headers("member")).json()
    assert thread["message_count"] == 1


def test_the_same_key_with_another_body_is_422_naming_the_header(people: People) -> None:
    target = route(people, "thread")
    assert post(people, target, "k").status_code == 201
    refused = post(people, target, "k", {"name": "Something else"})
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "idempotency_key_reused"
    assert [error["field"] for error in body["errors"]] == [KEY]
    assert body["detail"].startswith(f"{KEY} was used for a request with another body")
    # The same JSON spelled with other bytes is another body: the key names the bytes sent.
    assert post(people, target, "k", {"name": "Retried", "metadata": {}}).status_code == 422
    assert count(people.database_url, "threads") == 2  # the fixture's and the first


def test_an_error_is_not_stored_and_the_retry_runs_again(people: People) -> None:
    target = route(people, "task")
    missing = {"agent_id": "00000000-0000-4000-8000-000000000000", "input": {}}
    assert post(people, target, "t1", missing).status_code == 422
    assert post(people, target, "t1", missing).status_code == 422
    # Nothing was written or stored for the key: it still names whatever request succeeds first.
    assert post(people, target, "t1").status_code == 201
    assert post(people, target, "t1").headers["idempotent-replayed"] == "true"
    assert count(people.database_url, "tasks") == 1


def test_the_write_and_its_answer_commit_together(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crash window: a failure between storing the answer and the commit (here, right after the store) undoes
    the write too; nothing was acknowledged, and the retry writes once."""
    target = route(people, "message")
    real_store = idempotent.store

    async def store_then_fail(*args: Any, **kwargs: Any) -> None:
        await real_store(*args, **kwargs)
        raise psycopg.OperationalError("the connection went away before the commit")

    monkeypatch.setattr(idempotent, "store", store_then_fail)
    failed = post(people, target, "crash")
    assert failed.status_code == 503
    assert count(people.database_url, "messages") == count(people.database_url, "idempotency_keys") == 0
    monkeypatch.setattr(idempotent, "store", real_store)
    retried = post(people, target, "crash")
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert post(people, target, "crash").content == retried.content
    assert count(people.database_url, "messages") == count(people.database_url, "idempotency_keys") == 1
    thread = people.client.get(f"{API}/threads/{people['thread']}", headers=people.headers("member")).json()
    assert thread["message_count"] == 1


def test_the_body_is_hashed_on_a_worker_thread_with_no_connection_held(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_blocks: list[str] = []  # the event loop's thread, once per block of SQL open
    opened: list[str] = []
    real_connection = RequestDatabase.connection

    @asynccontextmanager
    async def counted(self: RequestDatabase) -> AsyncIterator[Any]:
        async with real_connection(self) as conn:
            open_blocks.append(threading.current_thread().name)
            opened.append(threading.current_thread().name)
            try:
                yield conn
            finally:
                open_blocks.pop()

    hashed: list[tuple[str, int, bytes]] = []
    real_hash = idempotent._sha256

    def watched(body: bytes) -> bytes:
        hashed.append((threading.current_thread().name, len(open_blocks), body))
        return real_hash(body)

    monkeypatch.setattr(RequestDatabase, "connection", counted)
    monkeypatch.setattr(idempotent, "_sha256", watched)
    loop_thread = people.client.blocking_portal.call(lambda: threading.current_thread().name)
    answer = post(people, route(people, "thread"), "h1")
    assert answer.status_code == 201
    ((thread_name, blocks_open, body),) = hashed
    assert thread_name != loop_thread
    assert blocks_open == 0
    assert body == answer.request.content
    assert set(opened) == {loop_thread}  # the SQL ran (auth, then the key and the write), all on the loop


def test_keys_are_per_caller_and_per_path(people: People) -> None:
    people.add("colleague")
    target = route(people, "thread")
    mine, theirs = post(people, target, "shared"), post(people, target, "shared", who="colleague")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "idempotent-replayed" not in theirs.headers
    # Each is replayed only to its own caller.
    assert post(people, target, "shared", who="colleague").json()["id"] == theirs.json()["id"]
    assert post(people, target, "shared").json()["id"] == mine.json()["id"]
    # The user and the runtime's API key appending to one thread with one key: two callers, two appends.
    message = route(people, "message")
    assert post(people, message, "shared").status_code == 201
    from_key = people.client.post(message.path, json=message.body, headers=people["runtime"] | {KEY: "shared"})
    assert from_key.status_code == 201
    assert "idempotent-replayed" not in from_key.headers
    assert count(people.database_url, "messages") == 2
    # Another path is another request: the key that created a thread appends to it too.
    assert post(people, message, "retry-1").status_code == 201
    other = people.client.post(f"{API}/threads", json={}, headers=people.headers("member"))
    elsewhere = people.client.post(
        f"{API}/threads/{other.json()['id']}/messages",
        json=message.body,
        headers=people.headers("member") | {KEY: "retry-1"},
    )
    assert elsewhere.status_code == 201
    assert "idempotent-replayed" not in elsewhere.headers


@pytest.mark.parametrize(
    "key",
    ["has space", "x" * (MAX_KEY_LENGTH + 1), "", "semi;colon", '"unbalanced', "a,b"],
    ids=["space", "too long", "empty", "semicolon", "quote", "comma"],
)
def test_a_bad_key_is_400_naming_the_header(people: People, key: str) -> None:
    refused = post(people, route(people, "thread"), key)
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert [error["field"] for error in body["errors"]] == [KEY]
    assert "1 to 255 characters" in body["detail"]
    assert count(people.database_url, "threads") == 1


def test_keys_as_clients_make_them(people: People) -> None:
    target = route(people, "thread")
    for key in ["8e03978e-40d5-43e8-bc93-6894a57f9324", "01HZX3K7Q9", "a+b/c=", "job:42.attempt_1~x", "y" * 255]:
        assert post(people, target, key).status_code == 201
    # The IETF draft's quoted form names the same key as the bare one.
    assert post(people, target, '"01HZX3K7Q9"').headers["idempotent-replayed"] == "true"


def test_an_append_with_a_key_invalidates_the_cached_page_after_it_commits(people: People) -> None:
    target = route(people, "message")
    page = f"{API}/threads/{people['thread']}/messages"
    assert people.client.get(page, headers=people.headers("member")).json()["items"] == []  # now cached
    assert post(people, target, "c1").status_code == 201
    listed = people.client.get(page, headers=people.headers("member")).json()["items"]
    assert [item["text_content"] for item in listed] == ["hello"]


def test_an_expired_answer_is_forgotten_and_purged(people: People) -> None:
    target = route(people, "thread")
    first = post(people, target, "old")
    with psycopg.connect(people.database_url) as conn:
        conn.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
    # An expired answer not yet purged counts as none: the key writes again, and its new answer is kept.
    again = post(people, target, "old")
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert post(people, target, "old").json()["id"] == again.json()["id"]
    with psycopg.connect(people.database_url) as conn:
        (expires_at,) = conn.execute("SELECT expires_at FROM idempotency_keys").fetchone()  # type: ignore[misc]
    assert timedelta(hours=23) < expires_at - datetime.now(UTC) <= idempotency.KEEP_FOR


@pytest.fixture
def expired_keys(database_url: str) -> Callable[[int], None]:
    """Store `n` answers of the default org that expired 1 to n minutes ago (k1 to kn), and a live one."""

    def insert(n: int) -> None:
        with psycopg.connect(database_url) as conn:
            conn.execute(
                "INSERT INTO idempotency_keys (org_id, principal_id, route, idempotency_key, request_hash, "
                "status_code, headers, body, expires_at) "
                "SELECT o.id, gen_random_uuid(), 'POST /x', k.name, sha256(''::bytea), 201, '{}', '', k.expires_at "
                "FROM orgs AS o, (SELECT 'k' || n AS name, now() - n * interval '1 minute' AS expires_at "
                "FROM generate_series(1, %s) AS n UNION ALL SELECT 'live', now() + interval '1 day') AS k "
                "WHERE o.is_default",
                [n],
            )

    return insert


@pytest.mark.anyio
async def test_the_purge_deletes_expired_answers_in_batches_and_skips_locked_rows(
    database_url: str, expired_keys: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    expired_keys(5)
    monkeypatch.setattr(idempotency, "PURGE_BATCH", 2)
    with psycopg.connect(database_url) as holder:
        # A row another transaction holds (a request replacing that expired key) is skipped, not waited for.
        holder.execute("SELECT 1 FROM idempotency_keys WHERE idempotency_key = 'k5' FOR UPDATE")
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            assert await idempotency.purge_expired(conn) == 2  # the oldest first: k4, k3
            assert await idempotency.purge_expired(conn) == 2
            assert await idempotency.purge_expired(conn) == 0
            holder.rollback()
            assert await idempotency.purge_expired(conn) == 1
    assert count(database_url, "idempotency_keys") == 1  # the live one


@pytest.fixture
def live(make_settings: Callable[..., Settings]) -> Iterator[tuple[str, dict[str, str]]]:
    """The service on a loopback port (uvicorn, as `agentpress serve` runs it: requests really run at once, which
    the test clients' portal does not do), and a signed-up user's headers."""
    with serving(create_app(make_settings(pool_max_size=10))) as base:
        yield base, bearer(register_at(base, "o@example.com"))


async def _key_locked(database_url: str, seconds: float = 10) -> None:
    """Until a request's transaction holds an idempotency key's lock."""
    deadline = time.monotonic() + seconds
    while True:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
        if row is not None and row[0] > 0:
            return
        assert time.monotonic() < deadline, "no request took its key's lock"
        await asyncio.sleep(0.02)


@pytest.mark.anyio
async def test_a_duplicate_in_flight_gets_409_with_retry_after(
    live: tuple[str, dict[str, str]], database_url: str
) -> None:
    base, signed = live
    keyed = signed | {KEY: "slow"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        # The first request's insert waits on the table while its transaction holds the key.
        with holding_lock(database_url, "LOCK TABLE threads IN SHARE MODE") as lock:
            first = asyncio.create_task(client.post(f"{API}/threads", json={"name": "a"}, headers=keyed))
            await _key_locked(database_url)
            duplicate = await client.post(f"{API}/threads", json={"name": "a"}, headers=keyed)
            assert duplicate.status_code == 409
            assert duplicate.headers["retry-after"] == "1"
            body = duplicate.json()
            assert body["code"] == "idempotency_key_in_flight"
            assert [error["field"] for error in body["errors"]] == [KEY]
            # Another body with the key is told the same: what the first answers is not known yet.
            assert (await client.post(f"{API}/threads", json={"name": "b"}, headers=keyed)).status_code == 409
            lock.rollback()
            answered = await first
        assert answered.status_code == 201, answered.text
        retried = await client.post(f"{API}/threads", json={"name": "a"}, headers=keyed)
        assert retried.status_code == 201
        assert retried.content == answered.content
        assert retried.headers["idempotent-replayed"] == "true"
    assert count(database_url, "threads") == 1


@pytest.mark.anyio
async def test_concurrent_retries_with_one_key_write_once(live: tuple[str, dict[str, str]], database_url: str) -> None:
    base, signed = live
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        thread = (await client.post(f"{API}/threads", json={}, headers=signed)).json()["id"]
        url = f"{API}/threads/{thread}/messages"
        body = {"messages": [{"role": "user", "parts": [{"type": "text", "text": "once"}]}] * 2}
        keyed = signed | {KEY: "turn-1"}
        answers = await asyncio.gather(*[client.post(url, json=body, headers=keyed) for _ in range(20)])
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {201, 409}, statuses
        created = [answer for answer in answers if answer.status_code == 201]
        assert created
        assert len({answer.content for answer in created}) == 1
        assert all(answer.headers["retry-after"] == "1" for answer in answers if answer.status_code == 409)
        # The ones told to wait get the same answer when they retry.
        for answer in answers:
            if answer.status_code == 409:
                retried = await client.post(url, json=body, headers=keyed)
                assert retried.status_code == 201
                assert retried.content == created[0].content
        assert (await client.get(f"{API}/threads/{thread}", headers=signed)).json()["message_count"] == 2
    assert count(database_url, "messages") == 2


def test_the_document_lists_the_header_and_its_answers(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    keyed = {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        and any(parameter["name"] == KEY for parameter in operation.get("parameters", []))
    }
    assert set(keyed) == {
        "create_thread",
        "append_thread_messages",
        "create_task",
        "create_agent",
        "create_knowledge_base_file",
        "create_knowledge_base_freeform_text",
        "create_knowledge_base_table",
        "create_knowledge_base_web_url",
    }
    for operation in keyed.values():
        (parameter,) = [parameter for parameter in operation["parameters"] if parameter["name"] == KEY]
        assert parameter["in"] == "header"
        assert parameter["required"] is False
        assert parameter["schema"]["type"] == "string"
        assert parameter["schema"]["maxLength"] == MAX_KEY_LENGTH + 2
        assert "idempotency_key_in_flight" in operation["responses"]["409"]["description"]
        assert "idempotency_key_reused" in operation["responses"]["422"]["description"]
        assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
