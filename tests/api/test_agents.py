"""Agents: CRUD, listing, search, validation, tenancy, roles and versions (with concurrent changes)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from helpers import bearer, register
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

AGENTS = "/api/v1/agents"


def sql_one(database_url: str, statement: str, *params: Any) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(statement, params).fetchone()
    return row[0] if row else None


def default_org(database_url: str) -> str:
    return str(sql_one(database_url, "SELECT id FROM orgs WHERE is_default"))


def make_tool(database_url: str, org_id: str, name: str) -> str:
    return str(
        sql_one(
            database_url,
            "INSERT INTO tools (org_id, name, kind) VALUES (%s, %s, 'function') RETURNING id",
            org_id,
            name,
        )
    )


def make_knowledge_base(database_url: str, org_id: str, name: str) -> str:
    return str(
        sql_one(database_url, "INSERT INTO knowledge_bases (org_id, name) VALUES (%s, %s) RETURNING id", org_id, name)
    )


def make_persona(database_url: str, org_id: str) -> str:
    return str(sql_one(database_url, "INSERT INTO personas (org_id, name) VALUES (%s, 'Helpful') RETURNING id", org_id))


def create(client: TestClient[Litestar], token: str, **fields: Any) -> dict[str, Any]:
    response = client.post(AGENTS, json={"name": "Support bot", **fields}, headers=bearer(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def owner(admin: dict[str, Any]) -> str:
    """The platform admin, owner of the default org."""
    token: str = admin["token"]
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


def test_create_get_and_the_first_version(client: TestClient[Litestar], owner: str, database_url: str) -> None:
    tool = make_tool(database_url, default_org(database_url), "search")
    persona = make_persona(database_url, default_org(database_url))
    agent = create(
        client,
        owner,
        description="Answers questions",
        prompt="Be brief.",
        primary_model_provider="anthropic",
        primary_model="claude-3-sonnet",
        primary_model_temperature=0.7,
        max_tokens=1024,
        persona_id=persona,
        tools_enabled=[tool],
    )
    assert agent["version"] == 1
    assert agent["tools_enabled"] == [tool]
    assert agent["rag_enabled"] == []
    assert agent["org_id"] == default_org(database_url)
    me = client.get("/api/v1/auth/me", headers=bearer(owner)).json()
    assert agent["created_by"] == me["id"]
    assert client.get(f"{AGENTS}/{agent['id']}", headers=bearer(owner)).json() == agent
    versions = client.get(f"{AGENTS}/{agent['id']}/versions", headers=bearer(owner)).json()
    assert versions["total"] == 1
    snapshot = versions["items"][0]["snapshot"]
    assert snapshot["tools_enabled"] == [tool]
    assert snapshot["primary_model_temperature"] == 0.7
    assert snapshot["persona_id"] == persona
    assert snapshot["rag_enabled"] == []


def test_listing_pages_newest_first_with_the_total(client: TestClient[Litestar], owner: str) -> None:
    names = [f"agent {n}" for n in range(5)]
    for name in names:
        create(client, owner, name=name)
    page = client.get(AGENTS, params={"page_size": 2}, headers=bearer(owner)).json()
    assert (page["total"], page["page"], page["page_size"]) == (5, 1, 2)
    assert [a["name"] for a in page["items"]] == ["agent 4", "agent 3"]
    last = client.get(AGENTS, params={"page": 3, "page_size": 2}, headers=bearer(owner)).json()
    assert [a["name"] for a in last["items"]] == ["agent 0"]
    beyond = client.get(AGENTS, params={"page": 9, "page_size": 2}, headers=bearer(owner)).json()
    assert (beyond["items"], beyond["total"]) == ([], 5)
    assert client.get(AGENTS, params={"page_size": 101}, headers=bearer(owner)).status_code == 400


def test_search_is_a_case_insensitive_substring_and_filters_combine(client: TestClient[Litestar], owner: str) -> None:
    create(client, owner, name="Billing Helper")
    create(client, owner, name="billing archive", is_archived=True)
    create(client, owner, name="Sales 100% bot", is_enabled=False)
    create(client, owner, name="Sales 1000 bot")

    def names(**params: Any) -> list[str]:
        return [a["name"] for a in client.get(AGENTS, params=params, headers=bearer(owner)).json()["items"]]

    assert names(search="BILLING") == ["billing archive", "Billing Helper"]
    assert names(search="billing", is_archived=False) == ["Billing Helper"]
    assert names(is_enabled=False) == ["Sales 100% bot"]
    # % and _ are literal characters in a search, not wildcards.
    assert names(search="100%") == ["Sales 100% bot"]
    assert names(search="_") == []
    assert client.get(AGENTS, params={"search": "billing"}, headers=bearer(owner)).json()["total"] == 2


def test_patch_is_partial_and_each_change_is_a_version(client: TestClient[Litestar], owner: str) -> None:
    agent = create(client, owner, description="first", max_tokens=100)
    url = f"{AGENTS}/{agent['id']}"
    renamed = client.patch(url, json={"name": "Renamed"}, headers=bearer(owner)).json()
    assert (renamed["name"], renamed["description"], renamed["max_tokens"], renamed["version"]) == (
        "Renamed",
        "first",
        100,
        2,
    )
    cleared = client.patch(url, json={"description": None}, headers=bearer(owner)).json()
    assert (cleared["description"], cleared["version"]) == (None, 3)
    assert client.patch(url, json={"name": None}, headers=bearer(owner)).status_code == 400
    v1 = client.get(f"{url}/versions/1", headers=bearer(owner)).json()
    assert v1["snapshot"]["name"] == "Support bot"
    versions = client.get(f"{url}/versions", headers=bearer(owner)).json()
    assert [v["version"] for v in versions["items"]] == [3, 2, 1]


def test_restoring_a_version_is_a_new_version(client: TestClient[Litestar], owner: str, database_url: str) -> None:
    tool = make_tool(database_url, default_org(database_url), "lookup")
    agent = create(client, owner, tools_enabled=[tool])
    url = f"{AGENTS}/{agent['id']}"
    client.patch(url, json={"name": "Changed", "tools_enabled": []}, headers=bearer(owner))
    restored = client.post(f"{url}/versions/1/restore", headers=bearer(owner))
    assert restored.status_code == 200, restored.text
    assert (restored.json()["name"], restored.json()["tools_enabled"], restored.json()["version"]) == (
        "Support bot",
        [tool],
        3,
    )
    assert client.post(f"{url}/versions/9/restore", headers=bearer(owner)).status_code == 404
    assert client.get(f"{url}/versions/9", headers=bearer(owner)).status_code == 404


def test_rag_enabled_is_written_versioned_and_restored(
    client: TestClient[Litestar], owner: str, database_url: str
) -> None:
    org = default_org(database_url)
    first, second = sorted([make_knowledge_base(database_url, org, "a"), make_knowledge_base(database_url, org, "b")])
    agent = create(client, owner, rag_enabled=[second, first, first])
    assert agent["rag_enabled"] == [first, second]
    url = f"{AGENTS}/{agent['id']}"
    assert client.get(url, headers=bearer(owner)).json()["rag_enabled"] == [first, second]
    # A change that leaves rag_enabled out keeps it; null is refused; a list replaces it.
    renamed = client.patch(url, json={"name": "Renamed"}, headers=bearer(owner)).json()
    assert (renamed["rag_enabled"], renamed["version"]) == ([first, second], 2)
    refused = client.patch(url, json={"rag_enabled": None}, headers=bearer(owner))
    assert refused.status_code == 400
    assert refused.json()["errors"] == [{"field": "rag_enabled", "message": "may be left out but not null"}]
    narrowed = client.patch(url, json={"rag_enabled": [second]}, headers=bearer(owner)).json()
    assert (narrowed["rag_enabled"], narrowed["version"]) == ([second], 3)
    snapshots = {
        v["version"]: v["snapshot"]["rag_enabled"]
        for v in client.get(f"{url}/versions", headers=bearer(owner)).json()["items"]
    }
    assert snapshots == {1: [first, second], 2: [first, second], 3: [second]}
    restored = client.post(f"{url}/versions/1/restore", headers=bearer(owner)).json()
    assert (restored["rag_enabled"], restored["version"]) == ([first, second], 4)
    # A knowledge base deleted since cannot come back: restoring leaves it out.
    client.patch(url, json={"rag_enabled": []}, headers=bearer(owner))
    sql_one(database_url, "DELETE FROM knowledge_bases WHERE id = %s RETURNING id", first)
    again = client.post(f"{url}/versions/1/restore", headers=bearer(owner))
    assert again.status_code == 200, again.text
    assert again.json()["rag_enabled"] == [second]
    listed = client.get(AGENTS, headers=bearer(owner)).json()["items"]
    assert [a["rag_enabled"] for a in listed] == [[second]]
    searched = client.get(AGENTS, params={"search": "support"}, headers=bearer(owner)).json()["items"]
    assert [a["rag_enabled"] for a in searched] == [[second]]


def test_delete(client: TestClient[Litestar], owner: str, database_url: str) -> None:
    agent = create(client, owner)
    url = f"{AGENTS}/{agent['id']}"
    assert client.delete(url, headers=bearer(owner)).status_code == 204
    assert client.get(url, headers=bearer(owner)).status_code == 404
    assert client.delete(url, headers=bearer(owner)).status_code == 404
    assert sql_one(database_url, "SELECT count(*) FROM agent_versions") == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"primary_model_temperature": 2.5}, "primary_model_temperature"),
        ({"primary_model_temperature": -0.1}, "primary_model_temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"tools_enabled": [str(uuid.uuid4())]}, "tools_enabled"),
        ({"persona_id": str(uuid.uuid4())}, "persona_id"),
        ({"rag_enabled": [str(uuid.uuid4())]}, "rag_enabled"),
    ],
)
def test_invalid_fields_are_422_naming_the_field_and_write_nothing(
    client: TestClient[Litestar], owner: str, database_url: str, fields: dict[str, Any], field: str
) -> None:
    response = client.post(AGENTS, json={"name": "Bad", **fields}, headers=bearer(owner))
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    agent = create(client, owner)
    patched = client.patch(f"{AGENTS}/{agent['id']}", json=fields, headers=bearer(owner))
    assert patched.status_code == 422
    assert sql_one(database_url, "SELECT count(*) FROM agents") == 1
    assert sql_one(database_url, "SELECT count(*) FROM agent_versions") == 1


def test_references_to_another_orgs_tool_or_persona_are_422(
    client: TestClient[Litestar], owner: str, other_org: tuple[str, str], database_url: str
) -> None:
    _, eves = other_org
    tool, persona = make_tool(database_url, eves, "secret"), make_persona(database_url, eves)
    knowledge_base = make_knowledge_base(database_url, eves, "secret")
    for fields, field in [
        ({"tools_enabled": [tool]}, "tools_enabled"),
        ({"persona_id": persona}, "persona_id"),
        ({"rag_enabled": [knowledge_base]}, "rag_enabled"),
    ]:
        response = client.post(AGENTS, json={"name": "Bad", **fields}, headers=bearer(owner))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field


def test_primary_model_must_be_an_enabled_model_once_the_org_has_models(
    client: TestClient[Litestar], owner: str, database_url: str
) -> None:
    org = default_org(database_url)
    create(client, owner, primary_model="anything-goes")
    provider = sql_one(
        database_url,
        "INSERT INTO model_providers (org_id, name, kind) VALUES (%s, 'anthropic', 'anthropic') RETURNING id",
        org,
    )
    sql_one(
        database_url,
        "INSERT INTO models (org_id, provider_id, name)"
        " VALUES (%s, %s, 'claude-3-sonnet'), (%s, %s, 'claude-old') RETURNING id",
        org,
        provider,
        org,
        provider,
    )
    sql_one(database_url, "UPDATE models SET is_enabled = false WHERE name = 'claude-old' RETURNING id")
    ok = client.post(AGENTS, json={"name": "A", "primary_model": "claude-3-sonnet"}, headers=bearer(owner))
    assert ok.status_code == 201
    for model, provider_name in [("gpt-4o", None), ("claude-old", None), ("claude-3-sonnet", "openai")]:
        body = {"name": "B", "primary_model": model, "primary_model_provider": provider_name}
        response = client.post(AGENTS, json=body, headers=bearer(owner))
        assert response.status_code == 422, model
        assert response.json()["errors"][0]["field"] == "primary_model"


def test_another_orgs_agent_is_404_on_every_route(
    client: TestClient[Litestar], owner: str, other_org: tuple[str, str]
) -> None:
    agent = create(client, owner)
    eve, _ = other_org
    url = f"{AGENTS}/{agent['id']}"
    for method, path, body in [
        ("GET", url, None),
        ("PATCH", url, {"name": "x"}),
        ("DELETE", url, None),
        ("GET", f"{url}/versions", None),
        ("GET", f"{url}/versions/1", None),
        ("POST", f"{url}/versions/1/restore", None),
    ]:
        response = client.request(method, path, json=body, headers=bearer(eve))
        assert response.status_code == 404, (method, path)
    assert client.get(AGENTS, headers=bearer(eve)).json()["total"] == 0
    # Naming the owner's org explicitly is 404 too: eve is not a member.
    org_id = agent["org_id"]
    assert client.get(AGENTS, headers=bearer(eve) | {"X-Org-Id": org_id}).status_code == 404


def test_members_read_but_only_owners_and_admins_write(
    client: TestClient[Litestar], owner: str, database_url: str
) -> None:
    agent = create(client, owner)
    member = register(client, "member@example.com")["token"]
    url = f"{AGENTS}/{agent['id']}"
    assert client.get(url, headers=bearer(member)).status_code == 200
    assert client.get(f"{url}/versions", headers=bearer(member)).status_code == 200
    assert client.post(AGENTS, json={"name": "x"}, headers=bearer(member)).status_code == 403
    assert client.patch(url, json={"name": "x"}, headers=bearer(member)).status_code == 403
    assert client.post(f"{url}/versions/1/restore", headers=bearer(member)).status_code == 403
    assert client.delete(url, headers=bearer(member)).status_code == 403
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE org_members SET role = 'admin'"
            " WHERE user_id = (SELECT id FROM users WHERE email = 'member@example.com')"
        )
    assert client.patch(url, json={"name": "x"}, headers=bearer(member)).status_code == 200
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET role = 'guest' WHERE email = 'member@example.com'")
    assert client.patch(url, json={"name": "y"}, headers=bearer(member)).status_code == 403
    assert client.get(url, headers=bearer(member)).status_code == 200


@pytest.mark.anyio
async def test_twenty_concurrent_patches_make_versions_1_to_21(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    # No SIGNUP_ORG: the user owns an org of their own.
    app = create_app(make_settings(pool_max_size=10, signup_org=None))
    async with AsyncTestClient(app=app) as client:
        response = await client.post(
            "/api/v1/auth/register", json={"email": "o@example.com", "password": "long enough"}
        )
        token = response.json()["token"]
        created = await client.post(AGENTS, json={"name": "v1"}, headers=bearer(token))
        url = f"{AGENTS}/{created.json()['id']}"
        answers = await asyncio.gather(
            *[client.patch(url, json={"name": f"v{n}"}, headers=bearer(token)) for n in range(2, 22)]
        )
        assert [answer.status_code for answer in answers] == [200] * 20
        assert sorted(answer.json()["version"] for answer in answers) == list(range(2, 22))
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT version, snapshot->>'name' FROM agent_versions ORDER BY version").fetchall()
        current = conn.execute("SELECT version, name FROM agents").fetchone()
    assert [version for version, _ in rows] == list(range(1, 22))
    assert sorted(name for _, name in rows) == sorted(f"v{n}" for n in range(1, 22))
    # The agent is its last version.
    assert current == (21, rows[-1][1])
