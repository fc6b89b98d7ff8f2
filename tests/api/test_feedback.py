"""Feedback on messages: one per user and message (a second rating replaces the first), shown on listed
messages, withdrawn, and only on messages of the user's own threads."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from helpers import api_key, bearer, register
from litestar import Litestar
from litestar.testing import TestClient

THREADS = "/api/v1/threads"
MESSAGES = "/api/v1/messages"


def sql_one(database_url: str, statement: str, *params: Any) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(statement, params).fetchone()
    return row[0] if row else None


@pytest.fixture
def owner(client: TestClient[Litestar]) -> str:
    token: str = register(client, "owner@example.com")["token"]
    return token


@pytest.fixture
def conversation(client: TestClient[Litestar], admin: dict[str, Any], owner: str) -> tuple[str, list[str]]:
    """(thread id, [message ids]) of a thread of the owner with two messages: the owner's question and the
    agent runtime's answer (an API key of the org with messages:write)."""
    thread_id = client.post(THREADS, json={}, headers=bearer(owner)).json()["id"]
    runtime = api_key(client, bearer(admin["token"]), ["messages:write"], name="runtime")
    ids = []
    for role, text, signed in (("user", "Question", bearer(owner)), ("assistant", "Answer", runtime)):
        body = {"messages": [{"role": role, "parts": [{"type": "text", "text": text}]}]}
        response = client.post(f"{THREADS}/{thread_id}/messages", json=body, headers=signed)
        assert response.status_code == 201, response.text
        ids.append(response.json()["messages"][0]["id"])
    return thread_id, ids


def listed_feedback(client: TestClient[Litestar], token: str, thread_id: str) -> list[Any]:
    response = client.get(f"{THREADS}/{thread_id}/messages", headers=bearer(token))
    assert response.status_code == 200, response.text
    return [message["feedback"] for message in response.json()["items"]]


def test_rate_rerate_and_withdraw(
    client: TestClient[Litestar], owner: str, conversation: tuple[str, list[str]], database_url: str
) -> None:
    thread_id, (question, answer) = conversation
    url = f"{MESSAGES}/{answer}/feedback"
    first = client.put(url, json={"rating": -1, "comment": "Wrong city"}, headers=bearer(owner))
    assert first.status_code == 200, first.text
    me = client.get("/api/v1/auth/me", headers=bearer(owner)).json()
    saved = first.json()
    assert (saved["message_id"], saved["thread_id"], saved["user_id"]) == (answer, thread_id, me["id"])
    assert (saved["rating"], saved["comment"]) == (-1, "Wrong city")
    assert listed_feedback(client, owner, thread_id) == [None, {"rating": -1, "comment": "Wrong city"}]

    second = client.put(url, json={"rating": 1}, headers=bearer(owner)).json()
    assert (second["id"], second["created_at"]) == (saved["id"], saved["created_at"])
    assert (second["rating"], second["comment"]) == (1, None)
    assert second["updated_at"] > saved["updated_at"]
    assert sql_one(database_url, "SELECT count(*) FROM feedback") == 1
    assert listed_feedback(client, owner, thread_id) == [None, {"rating": 1, "comment": None}]

    assert client.delete(url, headers=bearer(owner)).status_code == 204
    assert listed_feedback(client, owner, thread_id) == [None, None]
    missing = client.delete(url, headers=bearer(owner))
    assert (missing.status_code, missing.json()["detail"]) == (404, "feedback not found")
    assert client.delete(f"{MESSAGES}/{question}/feedback", headers=bearer(owner)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"rating": 0}, {"rating": 2}, {"rating": "good"}, {}, {"rating": 1, "comment": "x" * 10_001}],
)
def test_an_invalid_rating_or_comment_is_400(
    client: TestClient[Litestar], owner: str, conversation: tuple[str, list[str]], body: dict[str, Any]
) -> None:
    _, (message, _) = conversation
    assert client.put(f"{MESSAGES}/{message}/feedback", json=body, headers=bearer(owner)).status_code == 400


def test_an_unknown_message_is_404(client: TestClient[Litestar], owner: str) -> None:
    url = f"{MESSAGES}/{uuid.uuid4()}/feedback"
    assert client.put(url, json={"rating": 1}, headers=bearer(owner)).status_code == 404
    assert client.delete(url, headers=bearer(owner)).status_code == 404
    assert client.put(f"{MESSAGES}/not-a-uuid/feedback", json={"rating": 1}, headers=bearer(owner)).status_code == 404


def test_only_messages_of_my_own_threads_take_my_feedback(
    client: TestClient[Litestar], owner: str, conversation: tuple[str, list[str]], database_url: str
) -> None:
    thread_id, (_, answer) = conversation
    client.put(f"{MESSAGES}/{answer}/feedback", json={"rating": 1, "comment": "mine"}, headers=bearer(owner))
    member = register(client, "member@example.com")["token"]
    url = f"{MESSAGES}/{answer}/feedback"
    assert client.put(url, json={"rating": -1}, headers=bearer(member)).status_code == 404
    assert client.delete(url, headers=bearer(member)).status_code == 404
    assert sql_one(database_url, "SELECT rating FROM feedback") == 1
    assert listed_feedback(client, owner, thread_id) == [None, {"rating": 1, "comment": "mine"}]


def test_another_orgs_message_is_404(
    client: TestClient[Litestar], owner: str, conversation: tuple[str, list[str]], database_url: str
) -> None:
    _, (_, answer) = conversation
    eve = register(client, "eve@example.com")
    org = client.post("/api/v1/orgs", json={"name": "Eve's", "slug": "eves"}, headers=bearer(eve["token"])).json()
    headers = bearer(eve["token"]) | {"X-Org-Id": org["id"]}
    assert client.put(f"{MESSAGES}/{answer}/feedback", json={"rating": 1}, headers=headers).status_code == 404
    assert sql_one(database_url, "SELECT count(*) FROM feedback") == 0


def test_guests_cannot_rate(
    client: TestClient[Litestar], owner: str, conversation: tuple[str, list[str]], database_url: str
) -> None:
    _, (_, answer) = conversation
    sql_one(database_url, "UPDATE users SET role = 'guest' RETURNING id")
    url = f"{MESSAGES}/{answer}/feedback"
    assert client.put(url, json={"rating": 1}, headers=bearer(owner)).status_code == 403
    assert client.delete(url, headers=bearer(owner)).status_code == 403
