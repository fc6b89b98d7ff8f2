"""Personas: create, read, change and delete in the org; who may write; another org's ids; personas in use."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from helpers import People, headers
from litestar import Litestar
from litestar.testing import TestClient

API = "/api/v1"
PERSONAS = f"{API}/personas"


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


def create_persona(
    people: dict[str, Any], who: str = "manager", org_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    client: TestClient[Litestar] = people["client"]
    response = client.post(PERSONAS, json={"name": "Helper", **fields}, headers=headers(people, who, org_id))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def persona_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM personas").fetchone()  # type: ignore[misc]
    return int(count)


def test_a_persona_is_created_read_and_listed(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_persona(
        people,
        name="Friendly guide",
        description="Walks users through the product",
        prompt="You are a patient guide.",
        style={"tone": "friendly", "formality": "casual", "emoji": False},
        avatar_url="https://example.com/guide.png",
    )
    assert set(created) == {
        "id",
        "org_id",
        "name",
        "description",
        "prompt",
        "style",
        "avatar_url",
        "created_at",
        "updated_at",
    }
    assert created["name"] == "Friendly guide"
    assert created["style"] == {"tone": "friendly", "formality": "casual", "emoji": False}
    assert created["avatar_url"] == "https://example.com/guide.png"
    got = client.get(f"{PERSONAS}/{created['id']}", headers=headers(people, "member"))
    assert (got.status_code, got.json()) == (200, created)
    listed = client.get(PERSONAS, headers=headers(people, "member")).json()
    assert listed == {"items": [created], "total": 1, "page": 1, "page_size": 20}


def test_a_persona_needs_only_a_name(people: dict[str, Any]) -> None:
    created = create_persona(people, name="Plain")
    assert (created["description"], created["prompt"], created["style"], created["avatar_url"]) == (
        None,
        None,
        {},
        None,
    )


def test_personas_are_listed_newest_first_in_pages(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    for name in ("first", "second", "third"):
        create_persona(people, name=name)
    member = headers(people, "member")
    first = client.get(PERSONAS, params={"page_size": 2}, headers=member).json()
    second = client.get(PERSONAS, params={"page": 2, "page_size": 2}, headers=member).json()
    beyond = client.get(PERSONAS, params={"page": 3, "page_size": 2}, headers=member).json()
    assert [p["name"] for p in first["items"]] == ["third", "second"]
    assert [p["name"] for p in second["items"]] == ["first"]
    assert (second["total"], second["page"], second["page_size"]) == (3, 2, 2)
    assert beyond == {"items": [], "total": 3, "page": 3, "page_size": 2}


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page_size": 101}])
def test_bad_paging_is_400(people: dict[str, Any], params: dict[str, int]) -> None:
    response = people["client"].get(PERSONAS, params=params, headers=headers(people, "member"))
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == list(params)


def test_a_change_keeps_the_fields_left_out_and_clears_those_sent_as_null(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_persona(
        people,
        description="Old description",
        prompt="Old prompt",
        style={"tone": "formal"},
        avatar_url="https://example.com/a.png",
    )
    path = f"{PERSONAS}/{created['id']}"
    renamed = client.patch(path, json={"name": "Renamed"}, headers=headers(people, "manager"))
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert body["name"] == "Renamed"
    assert (body["description"], body["prompt"], body["style"], body["avatar_url"]) == (
        "Old description",
        "Old prompt",
        {"tone": "formal"},
        "https://example.com/a.png",
    )
    assert body["updated_at"] > created["updated_at"]
    assert body["created_at"] == created["created_at"]
    cleared = client.patch(
        path,
        json={"description": None, "avatar_url": None, "style": {"tone": "casual"}},
        headers=headers(people, "manager"),
    ).json()
    assert (cleared["name"], cleared["description"], cleared["prompt"], cleared["style"], cleared["avatar_url"]) == (
        "Renamed",
        None,
        "Old prompt",
        {"tone": "casual"},
        None,
    )
    assert client.get(path, headers=headers(people, "member")).json() == cleared
    # An empty change changes nothing but updated_at.
    unchanged = client.patch(path, json={}, headers=headers(people, "manager")).json()
    assert {k: v for k, v in unchanged.items() if k != "updated_at"} == {
        k: v for k, v in cleared.items() if k != "updated_at"
    }


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": None}, "name"),
        ({"name": "P", "description": "x" * 10_001}, "description"),
        ({"name": "P", "style": "friendly"}, "style"),
        ({"name": "P", "style": ["friendly"]}, "style"),
        ({"name": "P", "avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"name": "P", "avatar_url": "https://" + "x" * 2048}, "avatar_url"),
    ],
)
def test_bad_persona_input_is_400_naming_the_field(people: dict[str, Any], payload: dict[str, Any], field: str) -> None:
    response = people["client"].post(PERSONAS, json=payload, headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert persona_count(people["database_url"]) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"style": None}, "style"),
        ({"style": 3}, "style"),
        ({"avatar_url": "ftp://example.com/a.png"}, "avatar_url"),
    ],
)
def test_a_bad_change_is_400_naming_the_field(people: dict[str, Any], payload: dict[str, Any], field: str) -> None:
    created = create_persona(people)
    client: TestClient[Litestar] = people["client"]
    response = client.patch(f"{PERSONAS}/{created['id']}", json=payload, headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert client.get(f"{PERSONAS}/{created['id']}", headers=headers(people, "member")).json() == created


def test_a_persona_is_deleted(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_persona(people)
    path = f"{PERSONAS}/{created['id']}"
    assert client.delete(path, headers=headers(people, "manager")).status_code == 204
    missing = client.get(path, headers=headers(people, "member"))
    assert (missing.status_code, missing.json()["detail"]) == (404, "persona not found")
    assert client.delete(path, headers=headers(people, "manager")).status_code == 404
    assert client.patch(path, json={"name": "Back"}, headers=headers(people, "manager")).status_code == 404


def test_a_persona_that_agents_use_is_not_deleted_and_the_409_names_them(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    database_url: str = people["database_url"]
    persona = create_persona(people)
    unused = create_persona(people, name="Unused")
    with psycopg.connect(database_url) as conn:
        (org_id,) = conn.execute("SELECT id FROM orgs WHERE is_default").fetchone()  # type: ignore[misc]
        conn.execute(
            "INSERT INTO agents (org_id, name, persona_id) VALUES (%s, 'Support bot', %s), (%s, 'Sales bot', %s)",
            [org_id, persona["id"], org_id, persona["id"]],
        )
        conn.execute(
            "INSERT INTO agents (org_id, name, persona_id) VALUES (%s, 'Other bot', %s)", [org_id, unused["id"]]
        )
    response = client.delete(f"{PERSONAS}/{persona['id']}", headers=headers(people, "manager"))
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "still_referenced"
    assert "Sales bot, Support bot" in body["detail"]
    assert "Other bot" not in body["detail"]
    assert client.get(f"{PERSONAS}/{persona['id']}", headers=headers(people, "member")).status_code == 200
    # Once no agent uses it, it goes.
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE agents SET persona_id = NULL WHERE persona_id = %s", [persona["id"]])
    assert client.delete(f"{PERSONAS}/{persona['id']}", headers=headers(people, "manager")).status_code == 204


def test_members_read_personas_but_do_not_change_them(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_persona(people)
    path = f"{PERSONAS}/{created['id']}"
    for who in ("member", "guest"):
        assert client.get(PERSONAS, headers=headers(people, who)).json()["total"] == 1
        assert client.get(path, headers=headers(people, who)).status_code == 200
        for method, target, payload in [
            ("POST", PERSONAS, {"name": "Mine"}),
            ("PATCH", path, {"name": "Mine"}),
            ("DELETE", path, None),
        ]:
            response = client.request(method, target, json=payload, headers=headers(people, who))
            assert response.status_code == 403, (who, method, response.text)
            assert response.json()["code"] == "forbidden"
    # The guest is an org admin, and still only reads: guests change nothing.
    assert "guests" in client.delete(path, headers=headers(people, "guest")).json()["detail"]
    assert client.get(path, headers=headers(people, "member")).json() == created
    assert persona_count(people["database_url"]) == 1


def test_owners_org_admins_and_platform_admins_write(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    by_owner = create_persona(people, who="outsider", org_id=people["other_org"], name="Owner's")
    assert by_owner["org_id"] == people["other_org"]
    # The platform admin is no member of the other org, and manages its personas all the same.
    admin_there = headers(people, "admin", people["other_org"])
    changed = client.patch(f"{PERSONAS}/{by_owner['id']}", json={"name": "Admin's"}, headers=admin_there)
    assert (changed.status_code, changed.json()["name"]) == (200, "Admin's")
    assert client.delete(f"{PERSONAS}/{by_owner['id']}", headers=admin_there).status_code == 204
    assert create_persona(people, who="manager")["name"] == "Helper"


PERSONA_ROUTES = [
    ("GET", "/personas/{id}", None),
    ("PATCH", "/personas/{id}", {"name": "Taken"}),
    ("DELETE", "/personas/{id}", None),
]


@pytest.mark.parametrize(("method", "route", "payload"), PERSONA_ROUTES, ids=[f"{m} {r}" for m, r, _ in PERSONA_ROUTES])
@pytest.mark.parametrize("who", ["manager", "admin"])
def test_another_orgs_persona_is_404_on_every_route(
    people: dict[str, Any], method: str, route: str, payload: dict[str, Any] | None, who: str
) -> None:
    """Even for the platform admin, acting in the default org: the persona is looked up in the org acted in."""
    client: TestClient[Litestar] = people["client"]
    theirs = create_persona(people, who="outsider", org_id=people["other_org"], name="Theirs")
    for persona_id in (theirs["id"], str(uuid.uuid4())):
        response = client.request(method, API + route.format(id=persona_id), json=payload, headers=headers(people, who))
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "persona not found"
    assert client.get(PERSONAS, headers=headers(people, who)).json()["total"] == 0
    there = client.get(f"{PERSONAS}/{theirs['id']}", headers=headers(people, "outsider", people["other_org"]))
    assert (there.status_code, there.json()) == (200, theirs)


def test_a_non_member_naming_another_org_gets_404(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    theirs = create_persona(people, who="outsider", org_id=people["other_org"])
    response = client.get(f"{PERSONAS}/{theirs['id']}", headers=headers(people, "manager", people["other_org"]))
    assert (response.status_code, response.json()["detail"]) == (404, "org not found")
    listed = client.get(PERSONAS, headers=headers(people, "manager", people["other_org"]))
    assert listed.status_code == 404


def test_persona_routes_need_a_signed_in_user(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    assert client.get(PERSONAS).status_code == 401
    assert client.post(PERSONAS, json={"name": "P"}).status_code == 401
    assert client.get(f"{PERSONAS}/{uuid.uuid4()}").status_code == 401
