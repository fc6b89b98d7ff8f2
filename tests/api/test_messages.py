"""Messages: appends (one or a batch, in one transaction), typed parts and their 422s, keyset pages,
deletes, and 50 concurrent appends to one thread; who may write what: users `user` messages to their own
threads, the agent runtime's API key any role and token counts to any thread of its org."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from helpers import api_key, bearer, headers, register
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from agentpress.models.messages import NewMessage
from agentpress.repositories import messages
from agentpress.settings import Settings
from agentpress.web.app import create_app

THREADS = "/api/v1/threads"


def sql_one(database_url: str, statement: str, *params: Any) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(statement, params).fetchone()
    return row[0] if row else None


def text(value: str, role: str = "user") -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "text": value}]}


@pytest.fixture
def owner(client: TestClient[Litestar]) -> str:
    token: str = register(client, "owner@example.com")["token"]
    return token


@pytest.fixture
def runtime(client: TestClient[Litestar], admin: dict[str, Any]) -> dict[str, str]:
    """The agent runtime: an API key of the (default) org the owner's threads are in, with the message scopes."""
    return api_key(client, bearer(admin["token"]), ["messages:read", "messages:write"], name="runtime")


@pytest.fixture
def thread(client: TestClient[Litestar], owner: str) -> str:
    response = client.post(THREADS, json={"name": "Chat"}, headers=bearer(owner))
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    return thread_id


def signed(who: str | dict[str, str]) -> dict[str, str]:
    """A user's session token, or the headers of an API key."""
    return bearer(who) if isinstance(who, str) else who


def append(
    client: TestClient[Litestar], who: str | dict[str, str], thread_id: str, *messages: dict[str, Any]
) -> list[dict[str, Any]]:
    response = client.post(f"{THREADS}/{thread_id}/messages", json={"messages": list(messages)}, headers=signed(who))
    assert response.status_code == 201, response.text
    created: list[dict[str, Any]] = response.json()["messages"]
    return created


def get_thread(client: TestClient[Litestar], token: str, thread_id: str) -> dict[str, Any]:
    response = client.get(f"{THREADS}/{thread_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def list_page(client: TestClient[Litestar], who: str | dict[str, str], thread_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{THREADS}/{thread_id}/messages", params=params, headers=signed(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


AGENT_TURN = [
    {
        "role": "assistant",
        "parts": [
            {"type": "reasoning", "text": "The user wants the weather."},
            {"type": "text", "text": "Let me look."},
            {"type": "tool_call", "tool_call_id": "call_1", "tool_name": "weather", "arguments": {"city": "Oslo"}},
        ],
        "model": "claude-3-sonnet",
        "input_tokens": 120,
        "output_tokens": 30,
    },
    {
        "role": "tool",
        "parts": [
            {"type": "tool_result", "tool_call_id": "call_1", "tool_name": "weather", "result": {"celsius": -3}},
        ],
    },
    {
        "role": "assistant",
        "parts": [
            {"type": "text", "text": "It is -3 °C in Oslo."},
            {"type": "text", "text": "Dress warmly."},
            {"type": "file", "name": "forecast.png", "mime_type": "image/png", "uri": "s3://bucket/forecast.png"},
        ],
    },
]


def test_append_one_message(client: TestClient[Litestar], owner: str, thread: str) -> None:
    (message,) = append(client, owner, thread, text("Hello there"))
    assert (message["role"], message["text_content"], message["thread_id"]) == ("user", "Hello there", thread)
    assert message["parts"] == [{"type": "text", "text": "Hello there"}]
    assert (message["model"], message["input_tokens"], message["feedback"]) == (None, None, None)
    after = get_thread(client, owner, thread)
    assert after["message_count"] == 1
    assert after["last_message_at"] == message["created_at"]
    assert list_page(client, owner, thread)["items"] == [message]


def test_append_an_agent_turn_in_order(
    client: TestClient[Litestar], owner: str, runtime: dict[str, str], thread: str
) -> None:
    append(client, owner, thread, text("Weather in Oslo?"))
    created = append(client, runtime, thread, *AGENT_TURN)
    assert [m["role"] for m in created] == ["assistant", "tool", "assistant"]
    assert [m["created_at"] for m in created] == sorted(m["created_at"] for m in created)
    assert len({m["created_at"] for m in created}) == 3
    first, result, last = created
    # Only text parts make the searchable text; defaults of optional fields are filled in.
    assert first["text_content"] == "Let me look."
    assert (first["model"], first["input_tokens"], first["output_tokens"]) == ("claude-3-sonnet", 120, 30)
    assert first["parts"][2] == AGENT_TURN[0]["parts"][2]
    assert result["text_content"] == ""
    assert result["parts"][0] == {**AGENT_TURN[1]["parts"][0], "is_error": False}
    assert last["text_content"] == "It is -3 °C in Oslo.\nDress warmly."
    assert last["parts"][2]["uri"] == "s3://bucket/forecast.png"
    after = get_thread(client, owner, thread)
    assert after["message_count"] == 4
    assert after["last_message_at"] == last["created_at"]
    listed = list_page(client, owner, thread)
    assert [m["id"] for m in listed["items"]][1:] == [m["id"] for m in created]
    assert listed["next_cursor"] is None


def test_messages_are_listed_oldest_first_in_keyset_pages(
    client: TestClient[Litestar], owner: str, thread: str
) -> None:
    for n in range(7):
        append(client, owner, thread, text(f"message {n}"))
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"page_size": 3} | ({"cursor": cursor} if cursor else {})
        body = list_page(client, owner, thread, **params)
        pages.append([m["text_content"] for m in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [["message 0", "message 1", "message 2"], ["message 3", "message 4", "message 5"], ["message 6"]]
    default = list_page(client, owner, thread)
    assert len(default["items"]) == 7
    assert default["next_cursor"] is None


def test_the_default_page_is_50_and_the_largest_100(client: TestClient[Litestar], owner: str, thread: str) -> None:
    for start in range(0, 120, 40):
        append(client, owner, thread, *[text(f"m{n}") for n in range(start, start + 40)])
    first = list_page(client, owner, thread)
    assert [m["text_content"] for m in first["items"]] == [f"m{n}" for n in range(50)]
    second = list_page(client, owner, thread, cursor=first["next_cursor"])
    assert [m["text_content"] for m in second["items"]] == [f"m{n}" for n in range(50, 100)]
    third = list_page(client, owner, thread, cursor=second["next_cursor"])
    assert [m["text_content"] for m in third["items"]] == [f"m{n}" for n in range(100, 120)]
    assert third["next_cursor"] is None
    largest = list_page(client, owner, thread, page_size=100)
    assert (len(largest["items"]), largest["next_cursor"] is not None) == (100, True)
    url = f"{THREADS}/{thread}/messages"
    assert client.get(url, params={"page_size": 101}, headers=bearer(owner)).status_code == 400
    forged = {"created_at": "2024-01-01T00:00:00+00:00", "id": 1}
    for cursor in ("nonsense", base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()):
        bad_cursor = client.get(url, params={"cursor": cursor}, headers=bearer(owner))
        assert bad_cursor.status_code == 400
        assert bad_cursor.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("part", "field"),
    [
        ({"type": "tool_call", "tool_call_id": "c1", "arguments": {}}, "tool_name"),
        ({"type": "tool_call", "tool_call_id": "c1", "tool_name": "search", "arguments": "{}"}, "arguments"),
        ({"type": "tool_call", "tool_call_id": "c1", "tool_name": "search", "arguments": [1]}, "arguments"),
        ({"type": "tool_call", "tool_name": "search", "arguments": {}}, "tool_call_id"),
        ({"type": "tool_result", "tool_call_id": "c1", "tool_name": "search"}, "result"),
        ({"type": "tool_result", "tool_call_id": "c1", "tool_name": "s", "result": 1, "is_error": "yes"}, "is_error"),
        ({"type": "file", "name": "a.png", "mime_type": "image/png"}, "uri"),
        ({"type": "file", "uri": ""}, "uri"),
        ({"type": "text"}, "text"),
        ({"type": "text", "text": 5}, "text"),
        ({"type": "reasoning", "text": None}, "text"),
        ({"type": "text", "text": "hi", "colour": "red"}, "colour"),
        ({"type": "image", "url": "x"}, "type"),
        ({"text": "no type"}, "type"),
        ({"type": "text", "text": "x" * 200_001}, "text"),
    ],
)
def test_an_invalid_part_is_422_naming_its_index_and_field(
    client: TestClient[Litestar],
    owner: str,
    runtime: dict[str, str],
    thread: str,
    database_url: str,
    part: dict[str, Any],
    field: str,
) -> None:
    body = {"messages": [text("fine"), {"role": "assistant", "parts": [{"type": "text", "text": "ok"}, part]}]}
    response = client.post(f"{THREADS}/{thread}/messages", json=body, headers=runtime)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_value"
    assert [error["field"] for error in response.json()["errors"]] == [f"messages[1].parts[1].{field}"]
    # Nothing of the batch was written.
    assert sql_one(database_url, "SELECT count(*) FROM messages") == 0
    assert get_thread(client, owner, thread)["message_count"] == 0


def test_every_invalid_part_of_a_batch_is_named(
    client: TestClient[Litestar], runtime: dict[str, str], thread: str
) -> None:
    body = {
        "messages": [
            {"role": "user", "parts": [{"type": "file"}]},
            {"role": "assistant", "parts": [{"type": "text", "text": "ok"}, {"type": "tool_call", "arguments": 1}]},
        ]
    }
    response = client.post(f"{THREADS}/{thread}/messages", json=body, headers=runtime)
    assert response.status_code == 422
    assert sorted(error["field"] for error in response.json()["errors"]) == [
        "messages[0].parts[0].uri",
        "messages[1].parts[1].arguments",
        "messages[1].parts[1].tool_call_id",
        "messages[1].parts[1].tool_name",
    ]
    assert "messages[1].parts[1].arguments" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"messages": [{"role": "robot", "parts": [{"type": "text", "text": "x"}]}]},
        {"messages": [{"role": "user", "parts": []}]},
        {"messages": [{"role": "user", "parts": ["just a string"]}]},
        {"messages": [{"role": "user", "parts": [{"type": "text", "text": "x"}], "input_tokens": -1}]},
        {"role": "user", "parts": [{"type": "text", "text": "x"}]},
        {"messages": [text("x")] * 101},
    ],
)
def test_an_invalid_envelope_is_400(client: TestClient[Litestar], owner: str, thread: str, body: Any) -> None:
    response = client.post(f"{THREADS}/{thread}/messages", json=body, headers=bearer(owner))
    assert response.status_code == 400, response.text


def test_appending_to_an_unknown_thread_is_404(client: TestClient[Litestar], owner: str) -> None:
    response = client.post(f"{THREADS}/{uuid.uuid4()}/messages", json={"messages": [text("x")]}, headers=bearer(owner))
    assert response.status_code == 404
    assert client.get(f"{THREADS}/{uuid.uuid4()}/messages", headers=bearer(owner)).status_code == 404


def test_delete_a_message(client: TestClient[Litestar], owner: str, thread: str, database_url: str) -> None:
    first, second, third = append(client, owner, thread, text("one"), text("two"), text("three"))
    client.put(f"/api/v1/messages/{third['id']}/feedback", json={"rating": -1}, headers=bearer(owner))
    url = f"{THREADS}/{thread}/messages"
    assert client.delete(f"{url}/{second['id']}", headers=bearer(owner)).status_code == 204
    after = get_thread(client, owner, thread)
    assert (after["message_count"], after["last_message_at"]) == (2, third["created_at"])
    # Deleting the newest message moves last_message_at back, and takes its feedback along.
    assert client.delete(f"{url}/{third['id']}", headers=bearer(owner)).status_code == 204
    after = get_thread(client, owner, thread)
    assert (after["message_count"], after["last_message_at"]) == (1, first["created_at"])
    assert sql_one(database_url, "SELECT count(*) FROM feedback") == 0
    assert [m["id"] for m in list_page(client, owner, thread)["items"]] == [first["id"]]
    missing = client.delete(f"{url}/{second['id']}", headers=bearer(owner))
    assert (missing.status_code, missing.json()["detail"]) == (404, "message not found")
    assert client.delete(f"{url}/{first['id']}", headers=bearer(owner)).status_code == 204
    emptied = get_thread(client, owner, thread)
    assert (emptied["message_count"], emptied["last_message_at"]) == (0, None)


def test_a_message_of_another_thread_is_404_and_left_alone(
    client: TestClient[Litestar], owner: str, thread: str, database_url: str
) -> None:
    other = client.post(THREADS, json={}, headers=bearer(owner)).json()["id"]
    (message,) = append(client, owner, other, text("elsewhere"))
    response = client.delete(f"{THREADS}/{thread}/messages/{message['id']}", headers=bearer(owner))
    assert response.status_code == 404
    assert get_thread(client, owner, other)["message_count"] == 1
    assert get_thread(client, owner, thread)["message_count"] == 0
    assert sql_one(database_url, "SELECT count(*) FROM messages") == 1


@pytest.mark.anyio
async def test_fifty_concurrent_appends_keep_message_count_equal_to_the_rows(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    app = create_app(make_settings(pool_max_size=10))
    async with AsyncTestClient(app=app) as client:
        response = await client.post(
            "/api/v1/auth/register", json={"email": "o@example.com", "password": "long enough"}
        )
        token = response.json()["token"]
        created = await client.post(THREADS, json={}, headers=bearer(token))
        url = f"{THREADS}/{created.json()['id']}/messages"
        # Some appends are batches: the count must follow rows, not requests.
        bodies = [{"messages": [text(f"{n}")] * (1 + n % 3)} for n in range(50)]
        answers = await asyncio.gather(*[client.post(url, json=body, headers=bearer(token)) for body in bodies])
        assert [answer.status_code for answer in answers] == [201] * 50
    expected = sum(1 + n % 3 for n in range(50))
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT count(*), max(created_at) FROM messages").fetchone()
        thread = conn.execute("SELECT message_count, last_message_at FROM threads").fetchone()
        # Each batch is contiguous in created_at order: appends took turns.
        texts = [row[0] for row in conn.execute("SELECT text_content FROM messages ORDER BY created_at, id")]
    assert rows is not None and thread is not None
    assert rows[0] == thread[0] == expected
    assert thread[1] == rows[1]
    runs = [texts[0]]
    for value in texts[1:]:
        if value != runs[-1]:
            runs.append(value)
    assert sorted(runs, key=int) == [str(n) for n in range(50)]


@pytest.mark.anyio
async def test_appends_racing_on_connections_of_their_own_take_turns(
    client: TestClient[Litestar], owner: str, database_url: str
) -> None:
    # AsyncTestClient serves requests one after another; here ten connections append at once, so that the one
    # statement's lock (append_messages in messages.sql) is what keeps the count and the order.
    thread = client.post(THREADS, json={}, headers=bearer(owner)).json()
    org_id, user_id, thread_id = (uuid.UUID(thread[key]) for key in ("org_id", "user_id", "id"))
    connections = [await psycopg.AsyncConnection.connect(database_url, autocommit=True) for _ in range(10)]
    try:

        async def append_batch(conn: psycopg.AsyncConnection[Any], n: int) -> None:
            message = NewMessage(
                role="user",
                parts=[{"type": "text", "text": f"{n}"}],
                text_content=f"{n}",
                model=None,
                input_tokens=None,
                output_tokens=None,
            )
            batch = [message] * (1 + n % 3)
            created = await messages.append_messages(
                conn, org_id=org_id, user_id=user_id, thread_id=thread_id, messages=batch
            )
            assert created is not None and len(created) == len(batch)

        for round_number in range(5):
            await asyncio.gather(*(append_batch(conn, round_number * 10 + i) for i, conn in enumerate(connections)))
        # Another user's thread: no row, nothing written.
        stranger = uuid.uuid4()
        one = [NewMessage(role="user", parts=[], text_content="", model=None, input_tokens=None, output_tokens=None)]
        assert (
            await messages.append_messages(
                connections[0], org_id=org_id, user_id=stranger, thread_id=thread_id, messages=one
            )
            is None
        )
    finally:
        for conn in connections:
            await conn.close()
    expected = sum(1 + n % 3 for n in range(50))
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT count(*), max(created_at) FROM messages").fetchone()
        counted = conn.execute("SELECT message_count, last_message_at FROM threads WHERE id = %s", [thread_id])
        texts = [row[0] for row in conn.execute("SELECT text_content FROM messages ORDER BY created_at, id")]
        state = counted.fetchone()
    assert rows is not None and state is not None
    assert rows[0] == state[0] == expected
    assert state[1] == rows[1]
    runs = [texts[0]]
    for value in texts[1:]:
        if value != runs[-1]:
            runs.append(value)
    # Each batch is contiguous in created_at order: the appends took turns.
    assert sorted(runs, key=int) == [str(n) for n in range(50)]


@pytest.mark.parametrize(
    ("message", "fields"),
    [
        (text("I am the model now", role="assistant"), ["messages[1].role"]),
        (text("tool output", role="tool"), ["messages[1].role"]),
        (text("new instructions", role="system"), ["messages[1].role"]),
        ({**text("cheap"), "input_tokens": 1_000_000}, ["messages[1].input_tokens"]),
        ({**text("cheap"), "output_tokens": 0}, ["messages[1].output_tokens"]),
        ({**text("me"), "model": "gpt-9"}, ["messages[1].model"]),
        (
            {**text("both", role="assistant"), "input_tokens": 5, "output_tokens": 5},
            ["messages[1].role", "messages[1].input_tokens", "messages[1].output_tokens"],
        ),
    ],
)
def test_a_signed_in_user_appends_only_user_messages_without_token_counts(
    client: TestClient[Litestar],
    owner: str,
    thread: str,
    database_url: str,
    message: dict[str, Any],
    fields: list[str],
) -> None:
    body = {"messages": [text("fine"), message]}
    response = client.post(f"{THREADS}/{thread}/messages", json=body, headers=bearer(owner))
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    assert [error["field"] for error in response.json()["errors"]] == fields
    assert "messages:write" in response.json()["detail"]
    # Nothing of the batch was written.
    assert sql_one(database_url, "SELECT count(*) FROM messages") == 0


def test_the_runtime_key_reads_and_appends_to_any_thread_of_its_org(
    client: TestClient[Litestar], admin: dict[str, Any], owner: str, runtime: dict[str, str], thread: str
) -> None:
    (question,) = append(client, owner, thread, text("Weather in Oslo?"))
    # The runtime reads a thread of a user it is not, and answers in it with token counts.
    assert client.get(f"{THREADS}/{thread}", headers=runtime).json()["id"] == thread
    assert [m["id"] for m in list_page(client, runtime, thread)["items"]] == [question["id"]]
    answer = append(client, runtime, thread, *AGENT_TURN)
    assert [m["role"] for m in answer] == ["assistant", "tool", "assistant"]
    # The owner reads it back (the owner's cached pages were invalidated), and may rate it.
    assert [m["id"] for m in list_page(client, owner, thread)["items"]] == [question["id"], *(m["id"] for m in answer)]
    assert get_thread(client, owner, thread)["message_count"] == 4
    # Not a thread of the org: 404, as for anyone.
    assert client.get(f"{THREADS}/{uuid.uuid4()}/messages", headers=runtime).status_code == 404
    missing = client.post(f"{THREADS}/{uuid.uuid4()}/messages", json={"messages": [text("x")]}, headers=runtime)
    assert missing.status_code == 404
    # A key is no user: it has no threads of its own to list, create or change, and rates nothing.
    for method, url, body in (
        ("GET", THREADS, None),
        ("POST", THREADS, {}),
        ("DELETE", f"{THREADS}/{thread}", None),
        ("DELETE", f"{THREADS}/{thread}/messages/{question['id']}", None),
        ("PUT", f"/api/v1/messages/{question['id']}/feedback", {"rating": 1}),
    ):
        refused = client.request(method, url, json=body, headers=runtime)
        assert refused.status_code == 403, (method, url, refused.text)
        assert "API key" in refused.json()["detail"]


def test_a_key_needs_the_message_scopes_and_stays_in_its_org(
    client: TestClient[Litestar], admin: dict[str, Any], owner: str, thread: str
) -> None:
    worker = api_key(client, bearer(admin["token"]), ["tasks:work"])
    reader = api_key(client, bearer(admin["token"]), ["messages:read"], name="reader")
    body = {"messages": [text("x", role="assistant")]}
    url = f"{THREADS}/{thread}/messages"
    for key in (worker, reader):
        refused = client.post(url, json=body, headers=key)
        assert refused.status_code == 403, refused.text
        assert "messages:write" in refused.json()["detail"]
    assert client.get(url, headers=worker).status_code == 403
    assert client.get(url, headers=reader).status_code == 200
    # Another org's runtime does not find the thread, nor may it name this org.
    outsider = register(client, "outsider@example.com")
    other_org = client.post(
        "/api/v1/orgs", json={"name": "Other", "slug": "other"}, headers=bearer(outsider["token"])
    ).json()["id"]
    people = {"outsider": outsider}
    theirs = api_key(client, headers(people, "outsider", other_org), ["messages:read", "messages:write"])
    assert client.get(url, headers=theirs).status_code == 404
    assert client.post(url, json=body, headers=theirs).status_code == 404
    default_org = client.get(f"{THREADS}/{thread}", headers=bearer(owner)).json()["org_id"]
    assert client.get(url, headers={**theirs, "X-Org-Id": default_org}).status_code == 404
