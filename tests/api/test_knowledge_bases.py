"""Knowledge bases: create, read, change and delete in the org; roles, tenancy, and what deleting one takes with it."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from helpers import People, headers
from litestar import Litestar
from litestar.testing import TestClient
from psycopg import sql

API = "/api/v1"
KBS = f"{API}/knowledge-bases"


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


def create_kb(people: dict[str, Any], who: str = "manager", org_id: str | None = None, **fields: Any) -> dict[str, Any]:
    response = people["client"].post(KBS, json={"name": "Handbook", **fields}, headers=headers(people, who, org_id))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        (n,) = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()  # type: ignore[misc]
    return int(n)


def test_a_knowledge_base_is_created_read_and_listed(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_kb(people, description="Company policies", embedding_model="text-embedding-3-large")
    assert set(created) == {
        "id",
        "org_id",
        "name",
        "description",
        "embedding_model",
        "is_enabled",
        "created_at",
        "updated_at",
    }
    assert (created["name"], created["description"], created["embedding_model"], created["is_enabled"]) == (
        "Handbook",
        "Company policies",
        "text-embedding-3-large",
        True,
    )
    assert created["org_id"] == people["default_org"]
    got = client.get(f"{KBS}/{created['id']}", headers=headers(people, "member"))
    assert (got.status_code, got.json()) == (200, created)
    listed = client.get(KBS, headers=headers(people, "guest")).json()
    assert listed == {"items": [created], "total": 1, "page": 1, "page_size": 20}


def test_knowledge_bases_are_listed_newest_first_in_pages(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    for n in range(5):
        create_kb(people, name=f"kb {n}")
    create_kb(people, who="outsider", org_id=people["other_org"], name="theirs")

    def names(**params: Any) -> tuple[list[str], int]:
        body = client.get(KBS, params=params, headers=headers(people, "member")).json()
        return [kb["name"] for kb in body["items"]], body["total"]

    assert names() == (["kb 4", "kb 3", "kb 2", "kb 1", "kb 0"], 5)
    assert names(page_size=2) == (["kb 4", "kb 3"], 5)
    assert names(page=3, page_size=2) == (["kb 0"], 5)
    assert names(page=4, page_size=2) == ([], 5)
    for params in ({"page": 0}, {"page_size": 101}):
        response = client.get(KBS, params=params, headers=headers(people, "member"))
        assert response.status_code == 400, response.text
        assert [error["field"] for error in response.json()["errors"]] == list(params)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "kb", "is_enabled": "sometimes"}, "is_enabled"),
        ({"name": "kb", "description": "x" * 10_001}, "description"),
    ],
)
def test_bad_input_is_400_naming_the_field(people: dict[str, Any], payload: dict[str, Any], field: str) -> None:
    response = people["client"].post(KBS, json=payload, headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert count(people["database_url"], "knowledge_bases") == 0


def test_a_change_keeps_the_fields_left_out_and_null_clears_the_optional_ones(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_kb(people, description="About", embedding_model="m")
    path = f"{KBS}/{created['id']}"
    changed = client.patch(path, json={"name": "Renamed", "is_enabled": False}, headers=headers(people, "manager"))
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["description"], body["embedding_model"], body["is_enabled"]) == (
        "Renamed",
        "About",
        "m",
        False,
    )
    assert body["updated_at"] > created["updated_at"]
    cleared = client.patch(path, json={"description": None, "embedding_model": None}, headers=headers(people, "admin"))
    assert (cleared.json()["description"], cleared.json()["embedding_model"], cleared.json()["name"]) == (
        None,
        None,
        "Renamed",
    )
    assert client.get(path, headers=headers(people, "member")).json() == cleared.json()


@pytest.mark.parametrize(("payload", "field"), [({"name": None}, "name"), ({"is_enabled": None}, "is_enabled")])
def test_a_required_field_sent_as_null_is_400(people: dict[str, Any], payload: dict[str, Any], field: str) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_kb(people)
    response = client.patch(f"{KBS}/{created['id']}", json=payload, headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"field": field, "message": "may be left out but not null"}]
    assert client.get(f"{KBS}/{created['id']}", headers=headers(people, "member")).json() == created


def test_deleting_a_knowledge_base_deletes_its_sources_and_their_embeddings(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    database_url: str = people["database_url"]
    doomed, kept = create_kb(people, name="doomed"), create_kb(people, name="kept")
    manager = headers(people, "manager")
    for kb in (doomed, kept):
        base = f"{KBS}/{kb['id']}"
        assert client.post(f"{base}/files", json={"name": "a.pdf", "storage_uri": "s3://a"}, headers=manager).is_success
        text = client.post(f"{base}/freeform-texts", json={"title": "t", "content": "c"}, headers=manager).json()
        table = {"name": "t", "columns": [{"name": "a", "type": "int"}], "rows": [[1]]}
        assert client.post(f"{base}/tables", json=table, headers=manager).is_success
        assert client.post(f"{base}/web-urls", json={"url": "https://example.com"}, headers=manager).is_success
        with psycopg.connect(database_url) as conn:
            conn.execute(
                "INSERT INTO embeddings (org_id, knowledge_base_id, freeform_text_id, chunk_index, content, embedding)"
                " VALUES (%s, %s, %s, 0, 'c', array_fill(0.5, ARRAY[3072])::halfvec(3072))",
                [people["default_org"], kb["id"], text["id"]],
            )
    path = f"{KBS}/{doomed['id']}"
    assert client.delete(path, headers=manager).status_code == 204
    missing = client.get(path, headers=headers(people, "member"))
    assert (missing.status_code, missing.json()["detail"]) == (404, "knowledge base not found")
    assert client.delete(path, headers=manager).status_code == 404
    assert client.patch(path, json={"name": "back"}, headers=manager).status_code == 404
    assert client.get(f"{path}/files", headers=manager).status_code == 404
    for table_name in (
        "knowledge_base_files",
        "knowledge_base_freeform_texts",
        "knowledge_base_tables",
        "knowledge_base_web_urls",
        "embeddings",
    ):
        assert count(database_url, table_name) == 1, table_name
    assert [kb["name"] for kb in client.get(KBS, headers=manager).json()["items"]] == ["kept"]


def test_deleting_a_knowledge_base_takes_it_off_its_agents_each_with_a_new_version(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    manager = headers(people, "manager")
    doomed, kept = create_kb(people, name="doomed")["id"], create_kb(people, name="kept")["id"]
    both = client.post(f"{API}/agents", json={"name": "Both", "rag_enabled": [doomed, kept]}, headers=manager).json()
    untouched = client.post(f"{API}/agents", json={"name": "Untouched", "rag_enabled": [kept]}, headers=manager).json()
    assert client.delete(f"{KBS}/{doomed}", headers=manager).status_code == 204
    after = client.get(f"{API}/agents/{both['id']}", headers=manager).json()
    assert (after["rag_enabled"], after["version"]) == ([kept], 2)
    latest = client.get(f"{API}/agents/{both['id']}/versions/2", headers=manager).json()
    assert latest["snapshot"]["rag_enabled"] == [kept]
    assert latest["created_by"] == people["manager"]["user"]["id"]
    assert client.get(f"{API}/agents/{untouched['id']}", headers=manager).json()["version"] == 1


def test_members_and_guests_read_knowledge_bases_but_do_not_change_them(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_kb(people)
    path = f"{KBS}/{created['id']}"
    for who in ("member", "guest"):
        assert client.get(KBS, headers=headers(people, who)).json()["total"] == 1
        assert client.get(path, headers=headers(people, who)).status_code == 200
        for method, target, payload in [
            ("POST", KBS, {"name": "mine"}),
            ("PATCH", path, {"name": "mine"}),
            ("DELETE", path, None),
        ]:
            response = client.request(method, target, json=payload, headers=headers(people, who))
            assert response.status_code == 403, (who, method, response.text)
            assert response.json()["code"] == "forbidden"
    assert client.get(path, headers=headers(people, "member")).json() == created


def test_owners_org_admins_and_platform_admins_write(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    by_owner = create_kb(people, who="outsider", org_id=people["other_org"], name="owners")
    assert by_owner["org_id"] == people["other_org"]
    admin_there = headers(people, "admin", people["other_org"])
    changed = client.patch(f"{KBS}/{by_owner['id']}", json={"name": "admins"}, headers=admin_there)
    assert (changed.status_code, changed.json()["name"]) == (200, "admins")
    assert client.delete(f"{KBS}/{by_owner['id']}", headers=admin_there).status_code == 204


KB_ROUTES = [("GET", None), ("PATCH", {"name": "taken"}), ("DELETE", None)]


@pytest.mark.parametrize(("method", "payload"), KB_ROUTES, ids=[method for method, _ in KB_ROUTES])
@pytest.mark.parametrize("who", ["manager", "admin"])
def test_another_orgs_knowledge_base_is_404(
    people: dict[str, Any], method: str, payload: dict[str, Any] | None, who: str
) -> None:
    """Even for the platform admin, acting in the default org: the knowledge base is looked up in the org acted in."""
    client: TestClient[Litestar] = people["client"]
    theirs = create_kb(people, who="outsider", org_id=people["other_org"], name="theirs")
    for kb_id in (theirs["id"], str(uuid.uuid4())):
        response = client.request(method, f"{KBS}/{kb_id}", json=payload, headers=headers(people, who))
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "knowledge base not found"
    assert client.get(KBS, headers=headers(people, who)).json()["total"] == 0
    there = client.get(f"{KBS}/{theirs['id']}", headers=headers(people, "outsider", people["other_org"]))
    assert (there.status_code, there.json()) == (200, theirs)


def test_knowledge_base_routes_need_a_signed_in_user(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    assert client.get(KBS).status_code == 401
    assert client.post(KBS, json={"name": "kb"}).status_code == 401
    assert client.delete(f"{KBS}/{uuid.uuid4()}").status_code == 401
