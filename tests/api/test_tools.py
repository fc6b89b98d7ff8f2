"""Tools: create, read, change and delete in the org; JSON Schema parameters; unique names; tools of agents."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from helpers import People, headers
from litestar import Litestar
from litestar.testing import TestClient
from psycopg.types.json import Jsonb

API = "/api/v1"
TOOLS = f"{API}/tools"


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: the platform admin (its owner), an org admin, a member and a guest who is even an org
    admin. An outsider owns an org of their own ("other")."""
    people = people_factory
    people.add("manager", org_role="admin")
    people.add("member")
    people.add("guest", org_role="admin", platform_role="guest")
    people.add("outsider")
    people["other_org"] = people.org("Other", owner="outsider")["id"]
    return people


def create_tool(
    people: dict[str, Any], who: str = "manager", org_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    client: TestClient[Litestar] = people["client"]
    payload = {"name": "search_web", "kind": "function", **fields}
    response = client.post(TOOLS, json=payload, headers=headers(people, who, org_id))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def tool_names(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT name FROM tools ORDER BY name").fetchall()
    return [name for (name,) in rows]


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
}


def test_a_tool_is_created_read_and_listed(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_tool(
        people,
        name="get_weather",
        description="The forecast for a city",
        kind="http",
        parameters=WEATHER_SCHEMA,
        config={"url": "https://weather.example.com/forecast", "method": "GET"},
        is_enabled=False,
    )
    assert set(created) == {
        "id",
        "org_id",
        "name",
        "description",
        "kind",
        "parameters",
        "config",
        "is_enabled",
        "created_at",
        "updated_at",
    }
    assert (created["name"], created["kind"], created["is_enabled"], created["org_id"]) == (
        "get_weather",
        "http",
        False,
        people["default_org"],
    )
    assert created["parameters"] == WEATHER_SCHEMA
    assert created["config"] == {"url": "https://weather.example.com/forecast", "method": "GET"}
    got = client.get(f"{TOOLS}/{created['id']}", headers=headers(people, "member"))
    assert (got.status_code, got.json()) == (200, created)
    listed = client.get(TOOLS, headers=headers(people, "member")).json()
    assert listed == {"items": [created], "total": 1, "page": 1, "page_size": 20}


def test_a_tool_needs_only_a_name_and_a_kind(people: dict[str, Any]) -> None:
    created = create_tool(people, name="noop", kind="mcp")
    assert (created["description"], created["parameters"], created["config"], created["is_enabled"]) == (
        None,
        {"type": "object"},
        {},
        True,
    )


def test_tools_are_listed_by_name_in_pages_and_filtered(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    create_tool(people, name="charlie", kind="http")
    create_tool(people, name="alpha", kind="function")
    create_tool(people, name="bravo", kind="http", is_enabled=False)
    create_tool(people, name="delta", kind="mcp")
    member = headers(people, "member")

    def names(**params: Any) -> tuple[list[str], int]:
        response = client.get(TOOLS, params=params, headers=member)
        assert response.status_code == 200, response.text
        body = response.json()
        return [tool["name"] for tool in body["items"]], body["total"]

    assert names() == (["alpha", "bravo", "charlie", "delta"], 4)
    assert names(page_size=3) == (["alpha", "bravo", "charlie"], 4)
    assert names(page=2, page_size=3) == (["delta"], 4)
    beyond = client.get(TOOLS, params={"page": 3, "page_size": 3}, headers=member).json()
    assert beyond == {"items": [], "total": 4, "page": 3, "page_size": 3}
    assert names(kind="http") == (["bravo", "charlie"], 2)
    assert names(is_enabled="false") == (["bravo"], 1)
    assert names(is_enabled="true") == (["alpha", "charlie", "delta"], 3)
    assert names(kind="http", is_enabled="true") == (["charlie"], 1)
    assert names(kind="http", is_enabled="true", page=2) == ([], 1)


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page_size": 0}, {"page_size": 101}, {"kind": "shell"}, {"is_enabled": "maybe"}]
)
def test_bad_list_parameters_are_400_naming_them(people: dict[str, Any], params: dict[str, Any]) -> None:
    response = people["client"].get(TOOLS, params=params, headers=headers(people, "member"))
    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == list(params)


def test_a_name_taken_in_the_org_is_409_naming_name(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    create_tool(people, name="lookup")
    again = client.post(TOOLS, json={"name": "lookup", "kind": "http"}, headers=headers(people, "manager"))
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "conflict"
    assert again.json()["errors"] == [{"field": "name", "message": "already exists"}]
    assert tool_names(people["database_url"]) == ["lookup"]
    # Renaming onto a taken name is refused the same way, and leaves the tool as it was.
    other = create_tool(people, name="fetch")
    renamed = client.patch(f"{TOOLS}/{other['id']}", json={"name": "lookup"}, headers=headers(people, "manager"))
    assert renamed.status_code == 409, renamed.text
    assert renamed.json()["errors"] == [{"field": "name", "message": "already exists"}]
    assert client.get(f"{TOOLS}/{other['id']}", headers=headers(people, "member")).json() == other
    # Names are unique per org: another org may use the same one.
    assert create_tool(people, who="outsider", org_id=people["other_org"], name="lookup")["name"] == "lookup"


@pytest.mark.parametrize(
    "parameters",
    [
        {"type": "nope"},
        {"type": "object", "properties": {"city": {"type": "string", "minLength": -1}}},
        {"type": "object", "required": "city"},
        {"type": "object", "properties": {"code": {"type": "string", "pattern": "("}}},
        # exclusiveMinimum was a boolean in draft 4 and is a number since draft 6.
        {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "required": "city"},
        {"$schema": 5, "type": "object"},
        {"$schema": None, "type": "object"},
    ],
)
def test_parameters_that_are_not_a_json_schema_are_422_naming_parameters(
    people: dict[str, Any], parameters: dict[str, Any]
) -> None:
    client: TestClient[Litestar] = people["client"]
    response = client.post(
        TOOLS, json={"name": "t", "kind": "function", "parameters": parameters}, headers=headers(people, "manager")
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_value"
    assert [error["field"] for error in body["errors"]] == ["parameters"]
    assert body["detail"].startswith("parameters is not a valid JSON Schema: ")
    assert tool_names(people["database_url"]) == []
    created = create_tool(people)
    changed = client.patch(
        f"{TOOLS}/{created['id']}", json={"parameters": parameters}, headers=headers(people, "manager")
    )
    assert changed.status_code == 422, changed.text
    assert [error["field"] for error in changed.json()["errors"]] == ["parameters"]
    assert client.get(f"{TOOLS}/{created['id']}", headers=headers(people, "member")).json() == created


def test_parameters_are_checked_by_the_dialect_their_schema_names(people: dict[str, Any]) -> None:
    draft4 = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
    }
    assert create_tool(people, name="draft4", parameters=draft4)["parameters"] == draft4
    # Without $schema the same schema is read as 2020-12, where exclusiveMinimum is a number.
    latest = {key: value for key, value in draft4.items() if key != "$schema"}
    response = people["client"].post(
        TOOLS, json={"name": "latest", "kind": "function", "parameters": latest}, headers=headers(people, "manager")
    )
    assert response.status_code == 422, response.text


def test_the_message_says_what_is_wrong_and_where(people: dict[str, Any]) -> None:
    response = people["client"].post(
        TOOLS,
        json={"name": "t", "kind": "function", "parameters": {"properties": {"city": {"type": "text"}}}},
        headers=headers(people, "manager"),
    )
    assert response.status_code == 422
    assert "'text' is not valid" in response.json()["detail"]
    assert "$.properties.city.type" in response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "function"}, "name"),
        ({"name": "", "kind": "function"}, "name"),
        ({"name": "has space", "kind": "function"}, "name"),
        ({"name": "x" * 65, "kind": "function"}, "name"),
        ({"name": None, "kind": "function"}, "name"),
        ({"name": "t"}, "kind"),
        ({"name": "t", "kind": "shell"}, "kind"),
        ({"name": "t", "kind": "function", "parameters": ["city"]}, "parameters"),
        ({"name": "t", "kind": "function", "parameters": None}, "parameters"),
        ({"name": "t", "kind": "function", "config": "https://example.com"}, "config"),
        ({"name": "t", "kind": "function", "is_enabled": "sometimes"}, "is_enabled"),
        ({"name": "t", "kind": "function", "description": "x" * 10_001}, "description"),
    ],
)
def test_bad_tool_input_is_400_naming_the_field(people: dict[str, Any], payload: dict[str, Any], field: str) -> None:
    response = people["client"].post(TOOLS, json=payload, headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert tool_names(people["database_url"]) == []


def test_a_change_keeps_the_fields_left_out(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_tool(
        people, description="Searches", parameters=WEATHER_SCHEMA, config={"endpoint": "x"}, kind="function"
    )
    path = f"{TOOLS}/{created['id']}"
    changed = client.patch(path, json={"kind": "mcp", "is_enabled": False}, headers=headers(people, "manager"))
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["description"], body["kind"], body["is_enabled"]) == (
        "search_web",
        "Searches",
        "mcp",
        False,
    )
    assert (body["parameters"], body["config"]) == (WEATHER_SCHEMA, {"endpoint": "x"})
    assert body["updated_at"] > created["updated_at"]
    cleared = client.patch(
        path,
        json={"description": None, "config": {}, "parameters": {"type": "object"}},
        headers=headers(people, "manager"),
    ).json()
    assert (cleared["description"], cleared["config"], cleared["parameters"], cleared["kind"]) == (
        None,
        {},
        {"type": "object"},
        "mcp",
    )
    assert client.get(path, headers=headers(people, "member")).json() == cleared


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"name": "a b"}, "name"),
        ({"kind": None}, "kind"),
        ({"kind": "shell"}, "kind"),
        ({"parameters": None}, "parameters"),
        ({"config": None}, "config"),
        ({"is_enabled": None}, "is_enabled"),
    ],
)
def test_a_bad_change_is_400_naming_the_field(people: dict[str, Any], payload: dict[str, Any], field: str) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_tool(people)
    response = client.patch(f"{TOOLS}/{created['id']}", json=payload, headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert client.get(f"{TOOLS}/{created['id']}", headers=headers(people, "member")).json() == created


def test_a_tool_is_deleted(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_tool(people)
    path = f"{TOOLS}/{created['id']}"
    assert client.delete(path, headers=headers(people, "manager")).status_code == 204
    missing = client.get(path, headers=headers(people, "member"))
    assert (missing.status_code, missing.json()["detail"]) == (404, "tool not found")
    assert client.delete(path, headers=headers(people, "manager")).status_code == 404
    assert client.patch(path, json={"name": "back"}, headers=headers(people, "manager")).status_code == 404
    assert tool_names(people["database_url"]) == []


def make_agent(conn: psycopg.Connection[Any], org_id: str, name: str, tool_ids: list[str]) -> str:
    """An agent at version 1 with these tools, as repositories.agents.create_agent leaves it."""
    (agent_id,) = conn.execute(
        "INSERT INTO agents (org_id, name) VALUES (%s, %s) RETURNING id::text", [org_id, name]
    ).fetchone()  # type: ignore[misc]
    for tool_id in tool_ids:
        conn.execute(
            "INSERT INTO agent_tools (agent_id, tool_id, org_id) VALUES (%s, %s, %s)", [agent_id, tool_id, org_id]
        )
    snapshot = {"name": name, "tools_enabled": sorted(tool_ids)}
    conn.execute(
        "INSERT INTO agent_versions (agent_id, version, org_id, snapshot) VALUES (%s, 1, %s, %s)",
        [agent_id, org_id, Jsonb(snapshot)],
    )
    return str(agent_id)


def test_deleting_a_tool_takes_it_off_its_agents_each_with_a_new_version(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    database_url: str = people["database_url"]
    org_id = people["default_org"]
    doomed = create_tool(people, name="doomed")["id"]
    kept = create_tool(people, name="kept")["id"]
    theirs = create_tool(people, who="outsider", org_id=people["other_org"], name="doomed")["id"]
    with psycopg.connect(database_url) as conn:
        both = make_agent(conn, org_id, "Both", [doomed, kept])
        only = make_agent(conn, org_id, "Only", [doomed])
        untouched = make_agent(conn, org_id, "Untouched", [kept])
        other_org_agent = make_agent(conn, people["other_org"], "Theirs", [theirs])

    assert client.delete(f"{TOOLS}/{doomed}", headers=headers(people, "manager")).status_code == 204

    with psycopg.connect(database_url) as conn:
        tools_of = dict(
            conn.execute(
                "SELECT a.id::text, coalesce(array_agg(t.tool_id::text ORDER BY t.tool_id)"
                " FILTER (WHERE t.tool_id IS NOT NULL), '{}')"
                " FROM agents AS a LEFT JOIN agent_tools AS t ON t.agent_id = a.id GROUP BY a.id"
            ).fetchall()
        )
        versions = dict(conn.execute("SELECT id::text, version FROM agents").fetchall())
        latest = {
            agent_id: (version, snapshot, created_by)
            for agent_id, version, snapshot, created_by in conn.execute(
                "SELECT DISTINCT ON (agent_id) agent_id::text, version, snapshot, created_by::text"
                " FROM agent_versions ORDER BY agent_id, version DESC"
            ).fetchall()
        }
    assert tools_of == {both: [kept], only: [], untouched: [kept], other_org_agent: [theirs]}
    assert versions == {both: 2, only: 2, untouched: 1, other_org_agent: 1}
    manager_id = people["manager"]["user"]["id"]
    assert latest[both][0] == 2 and latest[both][1]["tools_enabled"] == [kept] and latest[both][2] == manager_id
    assert latest[only][0] == 2 and latest[only][1]["tools_enabled"] == [] and latest[only][2] == manager_id
    assert latest[untouched][0] == 1
    assert latest[other_org_agent][0] == 1
    assert tool_names(database_url) == ["doomed", "kept"]  # the other org's "doomed" remains


def test_members_read_tools_but_do_not_change_them(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_tool(people)
    path = f"{TOOLS}/{created['id']}"
    for who in ("member", "guest"):
        assert client.get(TOOLS, headers=headers(people, who)).json()["total"] == 1
        assert client.get(path, headers=headers(people, who)).status_code == 200
        for method, target, payload in [
            ("POST", TOOLS, {"name": "mine", "kind": "function"}),
            ("PATCH", path, {"name": "mine"}),
            ("DELETE", path, None),
        ]:
            response = client.request(method, target, json=payload, headers=headers(people, who))
            assert response.status_code == 403, (who, method, response.text)
            assert response.json()["code"] == "forbidden"
    # The guest is an org admin, and still only reads: guests change nothing.
    assert "guests" in client.delete(path, headers=headers(people, "guest")).json()["detail"]
    assert client.get(path, headers=headers(people, "member")).json() == created
    assert tool_names(people["database_url"]) == ["search_web"]


def test_owners_org_admins_and_platform_admins_write(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    by_owner = create_tool(people, who="outsider", org_id=people["other_org"], name="owners")
    assert by_owner["org_id"] == people["other_org"]
    # The platform admin is no member of the other org, and manages its tools all the same.
    admin_there = headers(people, "admin", people["other_org"])
    changed = client.patch(f"{TOOLS}/{by_owner['id']}", json={"name": "admins"}, headers=admin_there)
    assert (changed.status_code, changed.json()["name"]) == (200, "admins")
    assert client.delete(f"{TOOLS}/{by_owner['id']}", headers=admin_there).status_code == 204
    assert create_tool(people, who="manager")["org_id"] == people["default_org"]


TOOL_ROUTES = [
    ("GET", "/tools/{id}", None),
    ("PATCH", "/tools/{id}", {"name": "taken"}),
    ("DELETE", "/tools/{id}", None),
]


@pytest.mark.parametrize(("method", "route", "payload"), TOOL_ROUTES, ids=[f"{m} {r}" for m, r, _ in TOOL_ROUTES])
@pytest.mark.parametrize("who", ["manager", "admin"])
def test_another_orgs_tool_is_404_on_every_route(
    people: dict[str, Any], method: str, route: str, payload: dict[str, Any] | None, who: str
) -> None:
    """Even for the platform admin, acting in the default org: the tool is looked up in the org acted in."""
    client: TestClient[Litestar] = people["client"]
    theirs = create_tool(people, who="outsider", org_id=people["other_org"], name="theirs")
    for tool_id in (theirs["id"], str(uuid.uuid4())):
        response = client.request(method, API + route.format(id=tool_id), json=payload, headers=headers(people, who))
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "tool not found"
    assert client.get(TOOLS, headers=headers(people, who)).json()["total"] == 0
    there = client.get(f"{TOOLS}/{theirs['id']}", headers=headers(people, "outsider", people["other_org"]))
    assert (there.status_code, there.json()) == (200, theirs)


def test_a_non_member_naming_another_org_gets_404(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    theirs = create_tool(people, who="outsider", org_id=people["other_org"])
    response = client.get(f"{TOOLS}/{theirs['id']}", headers=headers(people, "manager", people["other_org"]))
    assert (response.status_code, response.json()["detail"]) == (404, "org not found")
    assert client.get(TOOLS, headers=headers(people, "manager", people["other_org"])).status_code == 404


def test_tool_routes_need_a_signed_in_user(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    assert client.get(TOOLS).status_code == 401
    assert client.post(TOOLS, json={"name": "t", "kind": "function"}).status_code == 401
    assert client.delete(f"{TOOLS}/{uuid.uuid4()}").status_code == 401
