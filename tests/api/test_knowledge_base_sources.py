"""Sources of knowledge bases (files, freeform texts, tables, web URLs): CRUD, status, validation, roles, tenancy."""

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
COMMON = {"id", "knowledge_base_id", "status", "error", "created_at", "updated_at"}
SHA = "ab" * 32

# Per kind: its path, the table, a full payload, its fields, a partial change and its noun in errors.
KINDS: dict[str, dict[str, Any]] = {
    "files": {
        "table": "knowledge_base_files",
        "noun": "file",
        "payload": {
            "name": "policy.pdf",
            "mime_type": "application/pdf",
            "size_bytes": 1234,
            "storage_uri": "s3://bucket/policy.pdf",
            "checksum_sha256": SHA,
        },
        "minimal": ({"name": "a.txt", "storage_uri": "s3://a"}, {"mime_type": None, "size_bytes": None}),
        "change": {"name": "renamed.pdf", "size_bytes": None},
    },
    "freeform-texts": {
        "table": "knowledge_base_freeform_texts",
        "noun": "freeform text",
        "payload": {"title": "Refunds", "content": "Refunds take 5 days."},
        "minimal": ({"title": "t", "content": ""}, {"content": ""}),
        "change": {"title": "Refund policy"},
    },
    "tables": {
        "table": "knowledge_base_tables",
        "noun": "table",
        "payload": {
            "name": "Prices",
            "columns": [{"name": "item", "type": "text"}, {"name": "price", "type": "number"}],
            "rows": [["tea", 2.5], ["cake", 4], [None, True]],
        },
        "minimal": ({"name": "t", "columns": [{"name": "a", "type": "text"}]}, {"rows": []}),
        "change": {"name": "Price list"},
    },
    "web-urls": {
        "table": "knowledge_base_web_urls",
        "noun": "web url",
        "payload": {
            "url": "https://example.com/docs",
            "crawl_depth": 2,
            "crawl_interval": 86_400,
            "last_crawled_at": "2025-01-02T03:04:05Z",
            "next_crawl_at": "2025-01-03T03:04:05Z",
        },
        "minimal": (
            {"url": "http://example.com"},
            {"crawl_depth": 0, "crawl_interval": None, "last_crawled_at": None, "next_crawl_at": None},
        ),
        "change": {"crawl_interval": 3_600, "next_crawl_at": None},
    },
}
KIND_NAMES = list(KINDS)


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: its owner (the platform admin), a member and a guest; an outsider owns another org.
    Each org has a knowledge base; the default org has a second one."""
    people = people_factory
    people.add("member")
    people.add("guest", platform_role="guest")
    people.add("outsider")
    people["other_org"] = people.org("Other", owner="outsider")["id"]
    people["kb"] = create_kb(people, "admin")
    people["kb2"] = create_kb(people, "admin")
    people["their_kb"] = create_kb(people, "outsider", people["other_org"])
    return people


def create_kb(people: dict[str, Any], who: str, org_id: str | None = None) -> str:
    response = people["client"].post(KBS, json={"name": "kb"}, headers=headers(people, who, org_id))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def create(
    people: dict[str, Any], kind: str, payload: dict[str, Any] | None = None, kb: str = "kb", who: str = "admin"
) -> dict[str, Any]:
    org_id = people["other_org"] if who == "outsider" else None
    response = people["client"].post(
        f"{KBS}/{people[kb]}/{kind}", json=payload or KINDS[kind]["payload"], headers=headers(people, who, org_id)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def set_status(database_url: str, table: str, source_id: str, status: str, error: str | None) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            sql.SQL("UPDATE {} SET status = %s, error = %s WHERE id = %s").format(sql.Identifier(table)),
            [status, error, source_id],
        )


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_a_source_is_created_pending_read_listed_changed_and_deleted(people: dict[str, Any], kind: str) -> None:
    client: TestClient[Litestar] = people["client"]
    spec = KINDS[kind]
    created = create(people, kind)
    assert set(created) == COMMON | set(spec["payload"])
    assert (created["status"], created["error"], created["knowledge_base_id"]) == ("pending", None, people["kb"])
    assert {field: created[field] for field in spec["payload"]} == spec["payload"]
    path = f"{KBS}/{people['kb']}/{kind}/{created['id']}"
    got = client.get(path, headers=headers(people, "member"))
    assert (got.status_code, got.json()) == (200, created)
    listed = client.get(f"{KBS}/{people['kb']}/{kind}", headers=headers(people, "guest")).json()
    assert listed == {"items": [created], "total": 1, "page": 1, "page_size": 20}
    changed = client.patch(path, json=spec["change"], headers=headers(people, "admin"))
    assert changed.status_code == 200, changed.text
    expected_body = {**created, **spec["change"], "updated_at": changed.json()["updated_at"]}
    assert changed.json() == expected_body
    assert changed.json()["updated_at"] > created["updated_at"]
    assert client.delete(path, headers=headers(people, "admin")).status_code == 204
    missing = client.get(path, headers=headers(people, "member"))
    assert (missing.status_code, missing.json()["detail"]) == (404, f"{spec['noun']} not found")
    assert client.delete(path, headers=headers(people, "admin")).status_code == 404
    assert client.patch(path, json=spec["change"], headers=headers(people, "admin")).status_code == 404


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_optional_fields_have_defaults(people: dict[str, Any], kind: str) -> None:
    payload, defaults = KINDS[kind]["minimal"]
    created = create(people, kind, payload)
    assert {field: created[field] for field in defaults} == defaults


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_sources_are_listed_newest_first_in_pages_per_knowledge_base(people: dict[str, Any], kind: str) -> None:
    client: TestClient[Litestar] = people["client"]
    ids = [create(people, kind)["id"] for _ in range(3)]
    create(people, kind, kb="kb2")
    base = f"{KBS}/{people['kb']}/{kind}"

    def page(**params: Any) -> tuple[list[str], int]:
        body = client.get(base, params=params, headers=headers(people, "member")).json()
        return [source["id"] for source in body["items"]], body["total"]

    assert page() == (ids[::-1], 3)
    assert page(page_size=2) == ([ids[2], ids[1]], 3)
    assert page(page=2, page_size=2) == ([ids[0]], 3)
    assert client.get(base, params={"page_size": 0}, headers=headers(people, "member")).status_code == 400


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_another_orgs_knowledge_base_is_404_on_every_source_route(people: dict[str, Any], kind: str) -> None:
    client: TestClient[Litestar] = people["client"]
    theirs = create(people, kind, kb="their_kb", who="outsider")
    for kb_id in (people["their_kb"], str(uuid.uuid4())):
        base = f"{KBS}/{kb_id}/{kind}"
        for method, path, payload in [
            ("GET", base, None),
            ("POST", base, KINDS[kind]["payload"]),
            ("GET", f"{base}/{theirs['id']}", None),
            ("PATCH", f"{base}/{theirs['id']}", KINDS[kind]["change"]),
            ("DELETE", f"{base}/{theirs['id']}", None),
        ]:
            response = client.request(method, path, json=payload, headers=headers(people, "admin"))
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["detail"] == "knowledge base not found"
    with psycopg.connect(people["database_url"]) as conn:
        (n,) = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(KINDS[kind]["table"]))).fetchone()  # type: ignore[misc]
    assert n == 1


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_a_source_under_another_knowledge_base_is_404(people: dict[str, Any], kind: str) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create(people, kind)
    noun = KINDS[kind]["noun"]
    for source_id in (created["id"], str(uuid.uuid4())):
        path = f"{KBS}/{people['kb2']}/{kind}/{source_id}"
        for method, payload in [("GET", None), ("PATCH", KINDS[kind]["change"]), ("DELETE", None)]:
            response = client.request(method, path, json=payload, headers=headers(people, "admin"))
            assert (response.status_code, response.json()["detail"]) == (404, f"{noun} not found"), method
    same = client.get(f"{KBS}/{people['kb']}/{kind}/{created['id']}", headers=headers(people, "member"))
    assert same.json() == created


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_members_and_guests_read_sources_but_do_not_change_them(people: dict[str, Any], kind: str) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create(people, kind)
    base = f"{KBS}/{people['kb']}/{kind}"
    path = f"{base}/{created['id']}"
    for who in ("member", "guest"):
        assert client.get(path, headers=headers(people, who)).status_code == 200
        for method, target, payload in [
            ("POST", base, KINDS[kind]["payload"]),
            ("PATCH", path, KINDS[kind]["change"]),
            ("DELETE", path, None),
        ]:
            response = client.request(method, target, json=payload, headers=headers(people, who))
            assert response.status_code == 403, (who, method, response.text)
    assert client.get(path, headers=headers(people, "member")).json() == created


@pytest.mark.parametrize(
    ("kind", "payload", "field"),
    [
        ("files", {"storage_uri": "s3://a"}, "name"),
        ("files", {"name": "a"}, "storage_uri"),
        ("files", {"name": "a", "storage_uri": "s3://a", "size_bytes": -1}, "size_bytes"),
        ("files", {"name": "a", "storage_uri": "s3://a", "checksum_sha256": "AB" * 32}, "checksum_sha256"),
        ("freeform-texts", {"title": "t"}, "content"),
        ("freeform-texts", {"title": "", "content": "c"}, "title"),
        ("tables", {"name": "t", "columns": []}, "columns"),
        ("tables", {"name": "t", "columns": [{"name": "a"}]}, "columns.0.type"),
        ("tables", {"name": "t", "columns": [{"name": "a", "type": "int"}], "rows": [1]}, "rows.0"),
        ("web-urls", {"url": "ftp://example.com"}, "url"),
        ("web-urls", {"url": "https://example.com", "crawl_depth": 11}, "crawl_depth"),
        ("web-urls", {"url": "https://example.com", "crawl_interval": 0}, "crawl_interval"),
    ],
)
def test_bad_source_input_is_400_naming_the_field(
    people: dict[str, Any], kind: str, payload: dict[str, Any], field: str
) -> None:
    response = people["client"].post(f"{KBS}/{people['kb']}/{kind}", json=payload, headers=headers(people, "admin"))
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]], response.json()


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("files", "name"),
        ("files", "storage_uri"),
        ("freeform-texts", "title"),
        ("freeform-texts", "content"),
        ("tables", "name"),
        ("tables", "columns"),
        ("tables", "rows"),
        ("web-urls", "url"),
        ("web-urls", "crawl_depth"),
    ],
)
def test_a_required_field_sent_as_null_in_a_change_is_400(people: dict[str, Any], kind: str, field: str) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create(people, kind)
    path = f"{KBS}/{people['kb']}/{kind}/{created['id']}"
    response = client.patch(path, json={field: None}, headers=headers(people, "admin"))
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"field": field, "message": "may be left out but not null"}]
    assert client.get(path, headers=headers(people, "member")).json() == created


def test_a_row_with_the_wrong_number_of_values_is_422_naming_it(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    base = f"{KBS}/{people['kb']}/tables"
    columns = [{"name": "a", "type": "text"}, {"name": "b", "type": "int"}]
    response = client.post(
        base, json={"name": "t", "columns": columns, "rows": [["x", 1], ["y"]]}, headers=headers(people, "admin")
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "rows[1]", "message": "has 1 values, but the table has 2 columns"}]
    assert client.get(base, headers=headers(people, "member")).json()["total"] == 0
    # A change is checked as a whole: new columns against the rows the table has.
    created = create(people, "tables", {"name": "t", "columns": columns, "rows": [["x", 1], ["y", 2]]})
    path = f"{base}/{created['id']}"
    fewer = client.patch(path, json={"columns": columns[:1]}, headers=headers(people, "admin"))
    assert fewer.status_code == 422, fewer.text
    assert [error["field"] for error in fewer.json()["errors"]] == ["rows[0]"]
    assert client.get(path, headers=headers(people, "member")).json() == created
    both = client.patch(path, json={"columns": columns[:1], "rows": [["x"]]}, headers=headers(people, "admin"))
    assert (both.status_code, both.json()["rows"]) == (200, [["x"]])


@pytest.mark.parametrize(
    ("kind", "stale", "fresh"),
    [
        ("freeform-texts", {"content": "Refunds take 3 days."}, {"title": "Renamed"}),
        ("tables", {"rows": [["tea", 3]]}, {"name": "Renamed"}),
        ("tables", {"columns": [{"name": "item", "type": "text"}, {"name": "cost", "type": "number"}]}, {"name": "x"}),
    ],
)
def test_new_content_puts_a_source_back_to_pending(
    people: dict[str, Any], kind: str, stale: dict[str, Any], fresh: dict[str, Any]
) -> None:
    client: TestClient[Litestar] = people["client"]
    payload = KINDS[kind]["payload"]
    if kind == "tables":
        payload = {**payload, "rows": [["tea", 2.5]]}
    created = create(people, kind, payload)
    path = f"{KBS}/{people['kb']}/{kind}/{created['id']}"
    set_status(people["database_url"], KINDS[kind]["table"], created["id"], "failed", "provider down")
    # A change that leaves the content as it was keeps the status, as does sending the same content.
    kept = client.patch(path, json={**fresh, **{k: payload[k] for k in stale}}, headers=headers(people, "admin"))
    assert (kept.json()["status"], kept.json()["error"]) == ("failed", "provider down")
    changed = client.patch(path, json=stale, headers=headers(people, "admin"))
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["error"]) == ("pending", None)
    set_status(people["database_url"], KINDS[kind]["table"], created["id"], "ready", None)
    assert client.patch(path, json=fresh, headers=headers(people, "admin")).json()["status"] == "ready"


def test_deleting_a_source_deletes_its_embeddings(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    doomed = create(people, "freeform-texts")
    kept = create(people, "freeform-texts")
    with psycopg.connect(people["database_url"]) as conn:
        for source in (doomed, kept):
            conn.execute(
                "INSERT INTO embeddings (org_id, knowledge_base_id, freeform_text_id, chunk_index, content, embedding)"
                " SELECT org_id, knowledge_base_id, id, 0, 'c', array_fill(0.5, ARRAY[3072])::halfvec(3072)"
                " FROM knowledge_base_freeform_texts WHERE id = %s",
                [source["id"]],
            )
    path = f"{KBS}/{people['kb']}/freeform-texts/{doomed['id']}"
    assert client.delete(path, headers=headers(people, "admin")).status_code == 204
    with psycopg.connect(people["database_url"]) as conn:
        rows = conn.execute("SELECT freeform_text_id::text FROM embeddings").fetchall()
    assert rows == [(kept["id"],)]


def test_crawl_interval_is_seconds_and_null_clears_it(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create(people, "web-urls", {"url": "https://example.com", "crawl_interval": 90_061})
    assert created["crawl_interval"] == 90_061
    with psycopg.connect(people["database_url"]) as conn:
        (stored,) = conn.execute(
            "SELECT crawl_interval::text FROM knowledge_base_web_urls WHERE id = %s", [created["id"]]
        ).fetchone()  # type: ignore[misc]
    assert stored == "25:01:01"
    path = f"{KBS}/{people['kb']}/web-urls/{created['id']}"
    cleared = client.patch(path, json={"crawl_interval": None}, headers=headers(people, "admin"))
    assert (cleared.status_code, cleared.json()["crawl_interval"]) == (200, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("next_crawl_at", "0001-01-01T00:00:00+05:00"),
        ("next_crawl_at", "9999-12-31T23:59:59-05:00"),
        ("last_crawled_at", "0001-01-01T00:00:00"),
        ("last_crawled_at", "9999-12-31T12:00:00Z"),
    ],
)
def test_a_crawl_time_near_the_ends_of_the_calendar_is_400_and_the_list_stays_readable(
    people: dict[str, Any], field: str, value: str
) -> None:
    # PostgreSQL stored such a time (year 0 or 10000 in UTC) and Python could not read it back: the row was
    # created, and its list, the create and every later read of it answered 422 "invalid value".
    client: TestClient[Litestar] = people["client"]
    base = f"{KBS}/{people['kb']}/web-urls"
    created = create(people, "web-urls", {"url": "https://example.com"})
    message = "must be in the years 0002 to 9998"
    for method, path in [("POST", base), ("PATCH", f"{base}/{created['id']}")]:
        payload = {"url": "https://example.com/other", field: value}
        response = client.request(method, path, json=payload, headers=headers(people, "admin"))
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == [{"field": field, "message": message}]
    listed = client.get(base, headers=headers(people, "admin"))
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]


def test_crawl_times_inside_the_calendar_are_kept(people: dict[str, Any]) -> None:
    times = {"last_crawled_at": "0002-01-01T00:00:00Z", "next_crawl_at": "9998-12-31T12:00:00+00:00"}
    created = create(people, "web-urls", {"url": "https://example.com", **times})
    assert (created["last_crawled_at"], created["next_crawl_at"]) == ("0002-01-01T00:00:00Z", "9998-12-31T12:00:00Z")
    # The rule is on the year as written (the document's pattern): the widest offsets stay inside Python's years.
    times = {"last_crawled_at": "0002-01-01T00:00:00+14:00", "next_crawl_at": "9998-12-31T23:59:59-12:00"}
    created = create(people, "web-urls", {"url": "https://example.com/far", **times})
    assert (created["last_crawled_at"], created["next_crawl_at"]) == ("0001-12-31T10:00:00Z", "9999-01-01T11:59:59Z")
    listed = people["client"].get(f"{KBS}/{people['kb']}/web-urls", headers=headers(people, "admin"))
    assert listed.status_code == 200, listed.text
