"""Org API keys: made by owners and admins, shown once, stored hashed, scoped, expiring, revocable, last use
recorded; a key acts for its org only and is never a signed-in user."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from helpers import People, api_key, bearer, forget_cached_credentials, headers
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services.crypto import hash_token

API = "/api/v1"
KEYS = f"{API}/api-keys"
CLAIM = f"{API}/tasks/claim"


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: the platform admin (its owner), an org admin and a member. An outsider owns an org of
    their own ("other_org")."""
    people = people_factory
    people.add("manager", org_role="admin")
    people.add("member")
    people.add("outsider")
    people["other_org"] = people.org("Other", owner="outsider")["id"]
    return people


def create(people: dict[str, Any], who: str = "manager", org_id: str | None = None, **body: Any) -> Any:
    client: TestClient[Litestar] = people["client"]
    payload = {"name": "worker", "scopes": ["tasks:work"], **body}
    return client.post(KEYS, json=payload, headers=headers(people, who, org_id))


def sql_one(database_url: str, statement: str, *params: Any) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(statement, list(params)).fetchone()
    return row[0] if row else None


def test_a_key_is_shown_once_and_stored_hashed(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    expires_at = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    response = create(
        people, scopes=["messages:write", "tasks:work", "messages:read", "tasks:work"], expires_at=expires_at
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    token = created.pop("token")
    assert token.startswith("apk.") and len(token) == 47
    # Each scope once, in a fixed order.
    assert created["scopes"] == ["tasks:work", "messages:read", "messages:write"]
    assert created["created_by"] == people["manager"]["user"]["id"]
    assert (created["revoked_at"], created["last_used_at"]) == (None, None)
    assert datetime.fromisoformat(created["expires_at"]) == datetime.fromisoformat(expires_at)
    stored = sql_one(people["database_url"], "SELECT token_hash FROM api_keys WHERE id = %s", created["id"])
    assert stored == hash_token(token)
    assert sql_one(people["database_url"], "SELECT count(*) FROM api_keys WHERE token_hash = %s", token.encode()) == 0
    listed = client.get(KEYS, headers=headers(people, "admin")).json()
    assert (listed["items"], listed["total"]) == ([created], 1)


def test_only_owners_and_admins_manage_keys(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    assert create(people, "member").status_code == 403
    assert client.get(KEYS, headers=headers(people, "member")).status_code == 403
    key = create(people).json()
    assert client.post(f"{KEYS}/{key['id']}/revoke", headers=headers(people, "member")).status_code == 403
    # Another org's keys are not found; the platform admin, as elsewhere, may manage any org's.
    theirs = create(people, "outsider", people["other_org"]).json()
    assert client.post(f"{KEYS}/{theirs['id']}/revoke", headers=headers(people, "manager")).status_code == 404
    assert [k["id"] for k in client.get(KEYS, headers=headers(people, "manager")).json()["items"]] == [key["id"]]
    assert create(people, "admin", people["other_org"]).status_code == 201
    listed = client.get(KEYS, headers=headers(people, "outsider", people["other_org"])).json()
    assert listed["total"] == 2


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"scopes": ["tasks:work", "admin"]}, 422, "scopes"),
        ({"scopes": ["*"]}, 422, "scopes"),
        ({"scopes": []}, 422, "scopes"),
        ({"expires_at": "2001-01-01T00:00:00+00:00"}, 422, "expires_at"),
        ({"expires_at": "2999-01-01T00:00:00"}, 400, "expires_at"),  # no time zone
        ({"name": ""}, 400, "name"),
        ({"scopes": "tasks:work"}, 400, "scopes"),
    ],
)
def test_a_bad_key_is_refused_naming_the_field(
    people: dict[str, Any], body: dict[str, Any], status: int, field: str
) -> None:
    response = create(people, **body)
    assert response.status_code == status, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    if field == "scopes" and status == 422:
        assert "tasks:work" in response.json()["detail"]  # the choices are named


def test_a_revoked_or_expired_key_stops_working(people: dict[str, Any], redis_url: str) -> None:
    client: TestClient[Litestar] = people["client"]
    revoked = create(people).json()
    expired = create(people, name="short").json()
    for key in (revoked, expired):
        assert client.post(CLAIM, json={"worker_id": "w"}, headers=bearer(key["token"])).status_code == 200
    first = client.post(f"{KEYS}/{revoked['id']}/revoke", headers=headers(people, "manager"))
    assert first.status_code == 200, first.text
    assert first.json()["revoked_at"] is not None
    again = client.post(f"{KEYS}/{revoked['id']}/revoke", headers=headers(people, "manager"))
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    assert client.post(f"{KEYS}/{uuid.uuid4()}/revoke", headers=headers(people, "manager")).status_code == 404
    with psycopg.connect(people["database_url"]) as conn:
        conn.execute("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = %s", [expired["id"]])
    forget_cached_credentials(redis_url)  # expired in SQL, not through the API
    for key in (revoked, expired, {"token": "apk.made-up"}):
        response = client.post(CLAIM, json={"worker_id": "w"}, headers=bearer(key["token"]))
        assert response.status_code == 401, response.text
        assert "API key" in response.json()["detail"]


def test_the_last_use_is_recorded_at_most_once_a_minute(people: dict[str, Any], redis_url: str) -> None:
    client: TestClient[Litestar] = people["client"]
    key = create(people).json()

    def last_used() -> Any:
        return sql_one(people["database_url"], "SELECT last_used_at FROM api_keys WHERE id = %s", key["id"])

    assert last_used() is None
    client.post(CLAIM, json={"worker_id": "w"}, headers=bearer(key["token"]))
    first = last_used()
    assert first is not None
    client.post(CLAIM, json={"worker_id": "w"}, headers=bearer(key["token"]))
    assert last_used() == first
    with psycopg.connect(people["database_url"]) as conn:
        conn.execute("UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = %s", [key["id"]])
    forget_cached_credentials(redis_url)
    client.post(CLAIM, json={"worker_id": "w"}, headers=bearer(key["token"]))
    assert last_used() > first


def test_a_key_is_never_a_signed_in_user(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    key = api_key(client, headers(people, "admin"), ["tasks:work", "messages:read", "messages:write"])
    for method, url in (
        ("GET", f"{API}/auth/me"),
        ("GET", f"{API}/agents"),
        ("GET", KEYS),
        ("POST", KEYS),
        ("GET", f"{API}/orgs"),
    ):
        response = client.request(method, url, headers=key, json={"name": "x", "scopes": ["tasks:work"]})
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["detail"].startswith("an API key is not a signed-in user")
