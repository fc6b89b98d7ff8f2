"""Threads: create, read, listing (offset and keyset pages, search, agent filter), changes, deletes, tenancy, roles."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from helpers import bearer, forget_cached_credentials, register
from litestar import Litestar
from litestar.testing import TestClient

THREADS = "/api/v1/threads"


def sql_one(database_url: str, statement: str, *params: Any) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(statement, params).fetchone()
    return row[0] if row else None


def new_thread(client: TestClient[Litestar], token: str, **fields: Any) -> dict[str, Any]:
    response = client.post(THREADS, json=fields, headers=bearer(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def new_agent(client: TestClient[Litestar], token: str, name: str = "Support bot") -> str:
    response = client.post("/api/v1/agents", json={"name": name}, headers=bearer(token))
    assert response.status_code == 201, response.text
    agent_id: str = response.json()["id"]
    return agent_id


def append_text(client: TestClient[Litestar], token: str, thread_id: str, text: str) -> dict[str, Any]:
    body = {"messages": [{"role": "user", "parts": [{"type": "text", "text": text}]}]}
    response = client.post(f"{THREADS}/{thread_id}/messages", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()["messages"][0]
    return message


@pytest.fixture
def owner(admin: dict[str, Any]) -> str:
    """The platform admin, owner of the default org."""
    token: str = admin["token"]
    return token


@pytest.fixture
def member(client: TestClient[Litestar], owner: str) -> str:
    """A second user, a member of the default org."""
    token: str = register(client, "member@example.com")["token"]
    return token


@pytest.fixture
def other_org(client: TestClient[Litestar], owner: str, database_url: str) -> tuple[str, str]:
    """(token, org id) of a user in an org of their own only, which is then their home org."""
    signed_in = register(client, "eve@example.com")
    org = client.post("/api/v1/orgs", json={"name": "Eve's", "slug": "eves"}, headers=bearer(signed_in["token"]))
    assert org.status_code == 201, org.text
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "DELETE FROM org_members WHERE user_id = %s AND org_id <> %s", [signed_in["user"]["id"], org.json()["id"]]
        )
    return signed_in["token"], org.json()["id"]


def test_create_with_defaults_and_get(client: TestClient[Litestar], owner: str, database_url: str) -> None:
    thread = new_thread(client, owner)
    me = client.get("/api/v1/auth/me", headers=bearer(owner)).json()
    assert thread["name"] == "New thread"
    assert (thread["user_id"], thread["agent_id"], thread["message_count"]) == (me["id"], None, 0)
    assert (thread["last_message_at"], thread["is_archived"], thread["metadata"]) == (None, False, {})
    assert thread["org_id"] == str(sql_one(database_url, "SELECT id FROM orgs WHERE is_default"))
    assert client.get(f"{THREADS}/{thread['id']}", headers=bearer(owner)).json() == thread
    assert client.get(f"{THREADS}/{uuid.uuid4()}", headers=bearer(owner)).status_code == 404


def test_create_with_an_agent_and_metadata(client: TestClient[Litestar], owner: str) -> None:
    agent = new_agent(client, owner)
    thread = new_thread(client, owner, name="Billing question", agent_id=agent, metadata={"source": "web"})
    assert (thread["name"], thread["agent_id"], thread["metadata"]) == ("Billing question", agent, {"source": "web"})


def test_agent_id_must_be_an_agent_of_the_org(
    client: TestClient[Litestar], owner: str, other_org: tuple[str, str]
) -> None:
    eve, _ = other_org
    eves_agent = new_agent(client, eve, "Eve's bot")
    thread = new_thread(client, owner)
    for agent_id in (str(uuid.uuid4()), eves_agent):
        created = client.post(THREADS, json={"agent_id": agent_id}, headers=bearer(owner))
        assert created.status_code == 422, created.text
        assert [error["field"] for error in created.json()["errors"]] == ["agent_id"]
        patched = client.patch(f"{THREADS}/{thread['id']}", json={"agent_id": agent_id}, headers=bearer(owner))
        assert patched.status_code == 422, patched.text
        assert [error["field"] for error in patched.json()["errors"]] == ["agent_id"]
    assert client.get(THREADS, headers=bearer(owner)).json()["total"] == 1


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "x" * 501}, {"metadata": [1, 2]}, {"agent_id": "not-a-uuid"}, {"name": 5}],
)
def test_invalid_bodies_are_400(client: TestClient[Litestar], owner: str, body: dict[str, Any]) -> None:
    assert client.post(THREADS, json=body, headers=bearer(owner)).status_code == 400
    thread = new_thread(client, owner)
    assert client.patch(f"{THREADS}/{thread['id']}", json=body, headers=bearer(owner)).status_code == 400


def test_listing_pages_newest_first_with_the_total(client: TestClient[Litestar], owner: str) -> None:
    for n in range(5):
        new_thread(client, owner, name=f"thread {n}")
    page = client.get(THREADS, params={"page_size": 2}, headers=bearer(owner)).json()
    assert (page["total"], page["page"], page["page_size"]) == (5, 1, 2)
    assert [t["name"] for t in page["items"]] == ["thread 4", "thread 3"]
    last = client.get(THREADS, params={"page": 3, "page_size": 2}, headers=bearer(owner)).json()
    assert [t["name"] for t in last["items"]] == ["thread 0"]
    beyond = client.get(THREADS, params={"page": 9, "page_size": 2}, headers=bearer(owner)).json()
    assert (beyond["items"], beyond["total"]) == ([], 5)
    default = client.get(THREADS, headers=bearer(owner)).json()
    assert default["page_size"] == 20
    for bad in ({"page_size": 101}, {"page_size": 0}, {"page": 0}):
        assert client.get(THREADS, params=bad, headers=bearer(owner)).status_code == 400


def test_search_is_a_case_insensitive_literal_substring_and_combines_with_agent(
    client: TestClient[Litestar], owner: str
) -> None:
    agent = new_agent(client, owner)
    new_thread(client, owner, name="Billing question")
    new_thread(client, owner, name="billing again", agent_id=agent)
    new_thread(client, owner, name="Refund 100% now")
    new_thread(client, owner, name="Refund 1000 later", agent_id=agent)

    def names(**params: Any) -> list[str]:
        response = client.get(THREADS, params=params, headers=bearer(owner))
        assert response.status_code == 200, response.text
        return [t["name"] for t in response.json()["items"]]

    assert names(search="BILLING") == ["billing again", "Billing question"]
    assert names(search="billing", agent_id=agent) == ["billing again"]
    assert names(agent_id=agent) == ["Refund 1000 later", "billing again"]
    # % and _ are literal characters in a search, not wildcards.
    assert names(search="100%") == ["Refund 100% now"]
    assert names(search="_") == []
    assert names(agent_id=str(uuid.uuid4())) == []
    assert client.get(THREADS, params={"search": "refund"}, headers=bearer(owner)).json()["total"] == 2
    # A page past the end has no row to carry the total: it is counted on its own.
    beyond = client.get(THREADS, params={"search": "refund", "page": 3, "page_size": 1}, headers=bearer(owner)).json()
    assert (beyond["items"], beyond["total"]) == ([], 2)
    # The total is the page's, never a field of its items.
    assert "total" not in client.get(THREADS, headers=bearer(owner)).json()["items"][0]
    assert client.get(THREADS, params={"agent_id": "nope"}, headers=bearer(owner)).status_code == 400


def test_keyset_pages_walk_the_same_order_as_offset_pages(client: TestClient[Litestar], owner: str) -> None:
    agent = new_agent(client, owner)
    for n in range(7):
        new_thread(client, owner, name=f"thread {n}", agent_id=agent if n % 2 else None)

    def offset_ids(**params: Any) -> list[str]:
        items = client.get(THREADS, params={**params, "page_size": 100}, headers=bearer(owner)).json()["items"]
        return [t["id"] for t in items]

    def walk(**params: Any) -> list[list[str]]:
        pages, cursor = [], ""
        while cursor is not None:
            response = client.get(THREADS, params={**params, "cursor": cursor, "page_size": 3}, headers=bearer(owner))
            assert response.status_code == 200, response.text
            body = response.json()
            assert set(body) == {"items", "next_cursor"}
            pages.append([t["id"] for t in body["items"]])
            cursor = body["next_cursor"]
        return pages

    pages = walk()
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [thread_id for page in pages for thread_id in page] == offset_ids()
    assert [thread_id for page in walk(agent_id=agent) for thread_id in page] == offset_ids(agent_id=agent)
    assert len(offset_ids(agent_id=agent)) == 3
    assert [thread_id for page in walk(search="THREAD 1") for thread_id in page] == offset_ids(search="THREAD 1")
    assert len(offset_ids(search="THREAD 1")) == 1


def test_threads_created_in_one_instant_are_not_skipped_by_keyset_pages(
    client: TestClient[Litestar], owner: str, database_url: str
) -> None:
    for n in range(5):
        new_thread(client, owner, name=f"thread {n}")
    # Ties on created_at are broken by id.
    sql_one(database_url, "UPDATE threads SET created_at = '2024-01-01T00:00:00Z' RETURNING id")
    seen, cursor = [], ""
    while cursor is not None:
        body = client.get(THREADS, params={"cursor": cursor, "page_size": 2}, headers=bearer(owner)).json()
        seen += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize("cursor", ["garbage", "eyJmb28iOiAxfQ", "eyJjcmVhdGVkX2F0IjogIngiLCAiaWQiOiAieSJ9"])
def test_a_cursor_the_list_did_not_make_is_400(client: TestClient[Litestar], owner: str, cursor: str) -> None:
    response = client.get(THREADS, params={"cursor": cursor}, headers=bearer(owner))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_a_cursor_cannot_be_combined_with_a_page(client: TestClient[Litestar], owner: str) -> None:
    response = client.get(THREADS, params={"cursor": "", "page": 2}, headers=bearer(owner))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page"


def test_patch_is_partial(client: TestClient[Litestar], owner: str) -> None:
    agent = new_agent(client, owner)
    thread = new_thread(client, owner, name="First", agent_id=agent, metadata={"a": 1})
    url = f"{THREADS}/{thread['id']}"

    def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = client.patch(url, json=body, headers=bearer(owner))
        assert response.status_code == 200, response.text
        changed: dict[str, Any] = response.json()
        return changed

    renamed = patch({"name": "Renamed"})
    assert (renamed["name"], renamed["agent_id"], renamed["metadata"]) == ("Renamed", agent, {"a": 1})
    assert renamed["updated_at"] > thread["updated_at"]
    archived = patch({"is_archived": True, "metadata": {"b": 2}})
    assert (archived["is_archived"], archived["metadata"], archived["name"]) == (True, {"b": 2}, "Renamed")
    detached = patch({"agent_id": None})
    assert (detached["agent_id"], detached["name"], detached["is_archived"]) == (None, "Renamed", True)
    assert patch({"agent_id": agent})["agent_id"] == agent
    assert patch({})["name"] == "Renamed"
    for field in ("name", "is_archived", "metadata"):
        response = client.patch(url, json={field: None}, headers=bearer(owner))
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == field
    assert client.get(url, headers=bearer(owner)).json()["name"] == "Renamed"
    assert client.patch(f"{THREADS}/{uuid.uuid4()}", json={"name": "x"}, headers=bearer(owner)).status_code == 404


def test_deleting_an_agent_keeps_its_threads(client: TestClient[Litestar], owner: str) -> None:
    agent = new_agent(client, owner)
    thread = new_thread(client, owner, agent_id=agent)
    assert client.delete(f"/api/v1/agents/{agent}", headers=bearer(owner)).status_code == 204
    listed = client.get(THREADS, headers=bearer(owner)).json()["items"]
    assert [(t["id"], t["agent_id"]) for t in listed] == [(thread["id"], None)]


def test_delete_takes_messages_and_feedback_along(client: TestClient[Litestar], owner: str, database_url: str) -> None:
    thread = new_thread(client, owner)
    kept = new_thread(client, owner)
    message = append_text(client, owner, thread["id"], "hello")
    append_text(client, owner, kept["id"], "kept")
    rated = client.put(f"/api/v1/messages/{message['id']}/feedback", json={"rating": 1}, headers=bearer(owner))
    assert rated.status_code == 200
    url = f"{THREADS}/{thread['id']}"
    assert client.delete(url, headers=bearer(owner)).status_code == 204
    assert client.get(url, headers=bearer(owner)).status_code == 404
    assert client.get(f"{url}/messages", headers=bearer(owner)).status_code == 404
    assert client.delete(url, headers=bearer(owner)).status_code == 404
    assert sql_one(database_url, "SELECT count(*) FROM messages") == 1
    assert sql_one(database_url, "SELECT count(*) FROM feedback") == 0
    assert client.get(f"{THREADS}/{kept['id']}", headers=bearer(owner)).json()["message_count"] == 1


def all_routes(thread_id: str, message_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    url = f"{THREADS}/{thread_id}"
    text = {"messages": [{"role": "user", "parts": [{"type": "text", "text": "hi"}]}]}
    return [
        ("GET", url, None),
        ("PATCH", url, {"name": "x"}),
        ("DELETE", url, None),
        ("GET", f"{url}/messages", None),
        ("POST", f"{url}/messages", text),
        ("DELETE", f"{url}/messages/{message_id}", None),
        ("PUT", f"/api/v1/messages/{message_id}/feedback", {"rating": 1}),
        ("DELETE", f"/api/v1/messages/{message_id}/feedback", None),
    ]


def test_another_users_thread_is_404_on_every_route(
    client: TestClient[Litestar], owner: str, member: str, database_url: str
) -> None:
    thread = new_thread(client, owner, name="Private")
    message = append_text(client, owner, thread["id"], "secret")
    client.put(f"/api/v1/messages/{message['id']}/feedback", json={"rating": 1}, headers=bearer(owner))
    # The owner's reads fill the cache first: a cached thread must not leak either.
    assert client.get(f"{THREADS}/{thread['id']}", headers=bearer(owner)).status_code == 200
    assert client.get(f"{THREADS}/{thread['id']}/messages", headers=bearer(owner)).status_code == 200
    for method, path, body in all_routes(thread["id"], message["id"]):
        response = client.request(method, path, json=body, headers=bearer(member))
        assert response.status_code == 404, (method, path, response.text)
    listed = client.get(THREADS, headers=bearer(member)).json()
    assert (listed["items"], listed["total"]) == ([], 0)
    assert client.get(THREADS, params={"cursor": ""}, headers=bearer(member)).json()["items"] == []
    # Nothing changed.
    after = client.get(f"{THREADS}/{thread['id']}", headers=bearer(owner)).json()
    assert (after["name"], after["message_count"]) == ("Private", 1)
    assert sql_one(database_url, "SELECT count(*) FROM feedback") == 1


def test_another_orgs_thread_is_404_on_every_route(
    client: TestClient[Litestar], owner: str, other_org: tuple[str, str], database_url: str
) -> None:
    thread = new_thread(client, owner)
    message = append_text(client, owner, thread["id"], "secret")
    assert client.get(f"{THREADS}/{thread['id']}", headers=bearer(owner)).status_code == 200
    eve, _ = other_org
    for method, path, body in all_routes(thread["id"], message["id"]):
        response = client.request(method, path, json=body, headers=bearer(eve))
        assert response.status_code == 404, (method, path, response.text)
    assert client.get(THREADS, headers=bearer(eve)).json()["total"] == 0
    # Naming the owner's org explicitly is 404 too: eve is not a member.
    default_org = thread["org_id"]
    assert client.get(THREADS, headers=bearer(eve) | {"X-Org-Id": default_org}).status_code == 404


def test_threads_are_per_org_for_a_user_in_two_orgs(client: TestClient[Litestar], owner: str) -> None:
    org = client.post("/api/v1/orgs", json={"name": "Second", "slug": "second"}, headers=bearer(owner)).json()
    in_default = new_thread(client, owner, name="default org")
    second = bearer(owner) | {"X-Org-Id": org["id"]}
    in_second = client.post(THREADS, json={"name": "second org"}, headers=second).json()
    assert in_second["org_id"] == org["id"]
    assert [t["name"] for t in client.get(THREADS, headers=second).json()["items"]] == ["second org"]
    assert [t["name"] for t in client.get(THREADS, headers=bearer(owner)).json()["items"]] == ["default org"]
    assert client.get(f"{THREADS}/{in_default['id']}", headers=second).status_code == 404


def test_guests_read_their_threads_but_write_nothing(
    client: TestClient[Litestar], owner: str, member: str, database_url: str, redis_url: str
) -> None:
    thread = new_thread(client, member)
    message = append_text(client, member, thread["id"], "before the demotion")
    sql_one(database_url, "UPDATE users SET role = 'guest' WHERE email = 'member@example.com' RETURNING id")
    forget_cached_credentials(redis_url)  # demoted in SQL, not through the API
    url = f"{THREADS}/{thread['id']}"
    assert client.get(THREADS, headers=bearer(member)).json()["total"] == 1
    assert client.get(url, headers=bearer(member)).status_code == 200
    assert client.get(f"{url}/messages", headers=bearer(member)).json()["items"][0]["id"] == message["id"]
    assert client.post(THREADS, json={}, headers=bearer(member)).status_code == 403
    for method, path, body in all_routes(thread["id"], message["id"]):
        if method != "GET":
            response = client.request(method, path, json=body, headers=bearer(member))
            assert response.status_code == 403, (method, path, response.text)
    assert sql_one(database_url, "SELECT message_count FROM threads") == 1


def test_org_admins_and_members_use_threads(client: TestClient[Litestar], owner: str, member: str) -> None:
    mine = new_thread(client, member, name="member's")
    assert client.patch(f"{THREADS}/{mine['id']}", json={"name": "renamed"}, headers=bearer(member)).status_code == 200
    assert client.delete(f"{THREADS}/{mine['id']}", headers=bearer(member)).status_code == 204


def test_routes_need_a_signed_in_user(client: TestClient[Litestar]) -> None:
    assert client.get(THREADS).status_code == 401
    assert client.post(THREADS, json={}).status_code == 401
    assert client.get(f"{THREADS}/{uuid.uuid4()}/messages").status_code == 401


def test_the_openapi_document_describes_the_routes(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    operations = {operation["operationId"] for path in document["paths"].values() for operation in path.values()}
    assert {
        "list_threads",
        "create_thread",
        "get_thread",
        "update_thread",
        "delete_thread",
        "list_thread_messages",
        "append_thread_messages",
        "delete_thread_message",
        "put_message_feedback",
        "delete_message_feedback",
    } <= operations
    assert {"TextPart", "ToolCallPart", "ToolResultPart", "FilePart", "ReasoningPart"} <= set(
        document["components"]["schemas"]
    )
