"""The org context of tenant routes: X-Org-Id, else the home org; another org answers 404, never 403."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from helpers import bearer, make_platform_admin, register
from litestar import Litestar
from litestar.testing import TestClient

ROUTE = "/test/widgets/org-context"


@pytest.fixture
def api(widgets_client: Callable[..., TestClient[Litestar]]) -> Iterator[TestClient[Litestar]]:
    with widgets_client() as client:
        yield client


def default_org_id(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        (org_id,) = conn.execute("SELECT id::text FROM orgs WHERE is_default").fetchone()  # type: ignore[misc]
    return str(org_id)


def make_org(database_url: str, slug: str, *members: tuple[str, str]) -> str:
    """An org with the given (user id, role) members, made directly in the database."""
    with psycopg.connect(database_url) as conn:
        (org_id,) = conn.execute(
            "INSERT INTO orgs (name, slug) VALUES (%s, %s) RETURNING id::text", [slug, slug]
        ).fetchone()  # type: ignore[misc]
        for user_id, role in members:
            conn.execute("INSERT INTO org_members (org_id, user_id, role) VALUES (%s, %s, %s)", [org_id, user_id, role])
    return str(org_id)


def context(api: TestClient[Litestar], token: str, org_id: str | None = None) -> Any:
    headers = bearer(token) | ({"X-Org-Id": org_id} if org_id else {})
    return api.get(ROUTE, headers=headers)


def test_without_a_header_the_home_org_is_the_default_org(api: TestClient[Litestar], widgets_database_url: str) -> None:
    register(api, "admin@example.com")
    member = register(api, "bob@example.com")
    assert context(api, member["token"]).json() == {
        "org_id": default_org_id(widgets_database_url),
        "role": "member",
        "can_manage": "False",
    }


def test_a_member_acts_in_a_named_org_and_another_org_is_404(
    api: TestClient[Litestar], widgets_database_url: str
) -> None:
    register(api, "admin@example.com")
    bob = register(api, "bob@example.com")
    carol = register(api, "carol@example.com")
    bobs = make_org(widgets_database_url, "bobs", (bob["user"]["id"], "owner"))
    assert context(api, bob["token"], bobs).json()["role"] == "owner"
    missing = context(api, carol["token"], bobs)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "org not found"
    # The same answer as an org that does not exist at all.
    nowhere = context(api, carol["token"], str(uuid.uuid4()))
    assert (nowhere.status_code, nowhere.json()) == (404, missing.json())


def test_platform_admins_act_in_every_org(api: TestClient[Litestar], widgets_database_url: str) -> None:
    admin = make_platform_admin(widgets_database_url, register(api, "admin@example.com"))
    bob = register(api, "bob@example.com")
    bobs = make_org(widgets_database_url, "bobs", (bob["user"]["id"], "owner"))
    assert context(api, admin["token"], bobs).json() == {"org_id": bobs, "role": None, "can_manage": "True"}


def test_a_malformed_org_id_is_400_naming_the_header(api: TestClient[Litestar]) -> None:
    token = register(api, "admin@example.com")["token"]
    response = context(api, token, "not-a-uuid")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "X-Org-Id"


def test_without_a_token_it_is_401(api: TestClient[Litestar]) -> None:
    assert api.get(ROUTE).status_code == 401


def test_a_user_in_no_org_has_no_home_org(api: TestClient[Litestar], widgets_database_url: str) -> None:
    register(api, "admin@example.com")
    bob = register(api, "bob@example.com")
    with psycopg.connect(widgets_database_url) as conn:
        conn.execute("DELETE FROM org_members WHERE user_id = %s", [bob["user"]["id"]])
    assert context(api, bob["token"]).status_code == 404
