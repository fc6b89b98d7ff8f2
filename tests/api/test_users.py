"""Platform administration of users: listing and search, roles, disabling (which ends their sessions)."""

from __future__ import annotations

from typing import Any

from helpers import PASSWORD, bearer, register
from litestar import Litestar
from litestar.testing import TestClient


def test_admins_list_and_search_users_in_pages(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    for name in ("carol", "bob", "dave"):
        register(client, f"{name}@example.com", username=f"{name}_x")
    headers = bearer(admin["token"])
    page = client.get("/api/v1/users", params={"page_size": 2}, headers=headers).json()
    assert (page["total"], page["page"], page["page_size"]) == (4, 1, 2)
    assert [u["email"] for u in page["items"]] == ["admin@example.com", "bob@example.com"]
    found = client.get("/api/v1/users", params={"search": "CAR"}, headers=headers).json()
    assert [u["email"] for u in found["items"]] == ["carol@example.com"]
    by_username = client.get("/api/v1/users", params={"search": "dave_"}, headers=headers).json()
    assert by_username["total"] == 1
    assert all("password_hash" not in u for u in page["items"])


def test_only_platform_admins_manage_users(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    user = register(client, "bob@example.com")
    assert client.get("/api/v1/users", headers=bearer(user["token"])).status_code == 403
    patch = client.patch(f"/api/v1/users/{admin['user']['id']}", json={"role": "guest"}, headers=bearer(user["token"]))
    assert patch.status_code == 403
    assert client.get("/api/v1/users").status_code == 401


def test_changing_a_role(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    user = register(client, "bob@example.com")
    url = f"/api/v1/users/{user['user']['id']}"
    promoted = client.patch(url, json={"role": "admin"}, headers=bearer(admin["token"]))
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    assert client.get("/api/v1/users", headers=bearer(user["token"])).status_code == 200
    bad = client.patch(url, json={"role": "owner"}, headers=bearer(admin["token"]))
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "role"


def test_disabling_a_user_revokes_their_sessions(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    user = register(client, "bob@example.com")
    url = f"/api/v1/users/{user['user']['id']}"
    disabled = client.patch(url, json={"is_disabled": True}, headers=bearer(admin["token"]))
    assert disabled.json()["is_disabled"] is True
    assert client.get("/api/v1/auth/me", headers=bearer(user["token"])).status_code == 401
    # Enabling again does not bring the old sessions back, but signing in works.
    client.patch(url, json={"is_disabled": False}, headers=bearer(admin["token"]))
    assert client.get("/api/v1/auth/me", headers=bearer(user["token"])).status_code == 401
    login = client.post("/api/v1/auth/login", json={"email": "bob@example.com", "password": PASSWORD})
    assert login.status_code == 200


def test_unknown_user_is_404_and_admins_cannot_lock_themselves_out(
    client: TestClient[Litestar], admin: dict[str, Any]
) -> None:
    headers = bearer(admin["token"])
    missing = client.patch("/api/v1/users/00000000-0000-0000-0000-000000000000", json={"role": "user"}, headers=headers)
    assert missing.status_code == 404
    own = f"/api/v1/users/{admin['user']['id']}"
    assert client.patch(own, json={"is_disabled": True}, headers=headers).status_code == 409
    assert client.patch(own, json={"role": "user"}, headers=headers).status_code == 409
    assert client.get("/api/v1/auth/me", headers=headers).json()["role"] == "admin"
