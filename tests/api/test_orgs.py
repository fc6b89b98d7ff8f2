"""Orgs and their members: who may read, change, delete and leave, and the last owner who may not."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from helpers import bearer, register
from litestar import Litestar
from litestar.testing import TestClient

API = "/api/v1"


def default_org_id(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        (org_id,) = conn.execute("SELECT id::text FROM orgs WHERE is_default").fetchone()  # type: ignore[misc]
    return str(org_id)


def create_org(client: TestClient[Litestar], token: str, slug: str, name: str | None = None) -> dict[str, Any]:
    response = client.post(f"{API}/orgs", json={"name": name or slug.title(), "slug": slug}, headers=bearer(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def join(database_url: str, org_id: str, user_id: str, role: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO org_members (org_id, user_id, role) VALUES (%s, %s, %s)", [org_id, user_id, role])


def set_platform_role(database_url: str, user_id: str, role: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET role = %s WHERE id = %s", [role, user_id])


def roles(database_url: str, org_id: str) -> dict[str, str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT user_id::text, role FROM org_members WHERE org_id = %s", [org_id]).fetchall()
    return dict(rows)


def member_path(org_id: str, user_id: str) -> str:
    return f"{API}/orgs/{org_id}/members/{user_id}"


@pytest.fixture
def team(client: TestClient[Litestar], admin: dict[str, Any], database_url: str) -> dict[str, Any]:
    """An org "acme" with an owner, an org admin and a member (none of them a platform admin), and an outsider."""
    people = {name: register(client, f"{name}@example.com") for name in ("owner", "manager", "member", "outsider")}
    org = create_org(client, people["owner"]["token"], "acme")
    join(database_url, org["id"], people["manager"]["user"]["id"], "admin")
    join(database_url, org["id"], people["member"]["user"]["id"], "member")
    return {"org": org, "admin": admin, "client": client, **people}


def token(team: dict[str, Any], who: str) -> dict[str, str]:
    return bearer(team[who]["token"])


def uid(team: dict[str, Any], who: str) -> str:
    user_id: str = team[who]["user"]["id"]
    return user_id


# Orgs


def test_creating_an_org_makes_the_creator_its_owner(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    ada = register(client, "ada@example.com")
    created = create_org(client, ada["token"], "acme", "Acme")
    assert created["role"] == "owner"
    assert (created["name"], created["slug"], created["is_default"]) == ("Acme", "acme", False)
    listed = client.get(f"{API}/orgs", headers=bearer(ada["token"])).json()
    assert listed["total"] == 2
    assert [(org["name"], org["role"]) for org in listed["items"]] == [("Acme", "owner"), ("Default", "member")]
    got = client.get(f"{API}/orgs/{created['id']}", headers=bearer(ada["token"]))
    assert got.status_code == 200
    assert got.json() == created


def test_orgs_are_listed_by_name_in_pages(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    ada = register(client, "ada@example.com")
    for slug, name in [("c", "Charlie"), ("a", "Alpha"), ("b", "Bravo")]:
        create_org(client, ada["token"], slug, name)
    first = client.get(f"{API}/orgs", params={"page_size": 2}, headers=bearer(ada["token"])).json()
    second = client.get(f"{API}/orgs", params={"page": 2, "page_size": 2}, headers=bearer(ada["token"])).json()
    assert [org["name"] for org in first["items"]] == ["Alpha", "Bravo"]
    assert [org["name"] for org in second["items"]] == ["Charlie", "Default"]
    assert (second["total"], second["page"], second["page_size"]) == (4, 2, 2)
    assert client.get(f"{API}/orgs", headers=bearer(ada["token"])).json()["page_size"] == 20
    # Only your own orgs: the platform admin belongs to the default org alone.
    assert [org["name"] for org in client.get(f"{API}/orgs", headers=bearer(admin["token"])).json()["items"]] == [
        "Default"
    ]


def test_org_routes_need_a_signed_in_user(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    assert client.get(f"{API}/orgs").status_code == 401
    assert client.post(f"{API}/orgs", json={"name": "Acme", "slug": "acme"}).status_code == 401


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Acme"}, "slug"),
        ({"slug": "acme"}, "name"),
        ({"name": "", "slug": "acme"}, "name"),
        ({"name": "x" * 201, "slug": "acme"}, "name"),
        ({"name": "Acme", "slug": "Not A Slug"}, "slug"),
        ({"name": "Acme", "slug": "-acme"}, "slug"),
        ({"name": "Acme", "slug": "a" * 65}, "slug"),
    ],
)
def test_bad_org_input_is_400_naming_the_field(
    client: TestClient[Litestar], admin: dict[str, Any], database_url: str, payload: dict[str, Any], field: str
) -> None:
    response = client.post(f"{API}/orgs", json=payload, headers=bearer(admin["token"]))
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM orgs").fetchone() == (1,)


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page_size": 101}])
def test_bad_paging_is_400(client: TestClient[Litestar], admin: dict[str, Any], params: dict[str, int]) -> None:
    response = client.get(f"{API}/orgs", params=params, headers=bearer(admin["token"]))
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == list(params)


def test_a_taken_slug_is_409_naming_slug_and_creates_nothing(
    client: TestClient[Litestar], admin: dict[str, Any], database_url: str
) -> None:
    create_org(client, admin["token"], "acme")
    response = client.post(f"{API}/orgs", json={"name": "Other", "slug": "acme"}, headers=bearer(admin["token"]))
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "slug", "message": "already exists"}]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM orgs").fetchone() == (2,)
        # The owner membership went with the org: no membership without its org, and none left over.
        assert conn.execute("SELECT count(*) FROM org_members").fetchone() == (2,)
    other = create_org(client, admin["token"], "other")
    renamed = client.patch(f"{API}/orgs/{other['id']}", json={"slug": "acme"}, headers=bearer(admin["token"]))
    assert renamed.status_code == 409
    assert renamed.json()["errors"][0]["field"] == "slug"


def test_owners_and_org_admins_update_an_org_members_may_not(team: dict[str, Any]) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    by_owner = client.patch(f"{API}/orgs/{org_id}", json={"name": "Acme Inc"}, headers=token(team, "owner"))
    assert by_owner.status_code == 200
    assert (by_owner.json()["name"], by_owner.json()["slug"], by_owner.json()["role"]) == ("Acme Inc", "acme", "owner")
    assert by_owner.json()["updated_at"] > team["org"]["updated_at"]
    by_admin = client.patch(f"{API}/orgs/{org_id}", json={"slug": "acme-inc"}, headers=token(team, "manager"))
    assert by_admin.status_code == 200
    assert (by_admin.json()["name"], by_admin.json()["slug"]) == ("Acme Inc", "acme-inc")
    by_member = client.patch(f"{API}/orgs/{org_id}", json={"name": "Mine"}, headers=token(team, "member"))
    assert by_member.status_code == 403
    assert client.get(f"{API}/orgs/{org_id}", headers=token(team, "member")).json()["name"] == "Acme Inc"
    bad = client.patch(f"{API}/orgs/{org_id}", json={"slug": "Bad Slug"}, headers=token(team, "owner"))
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "slug"


def test_only_owners_delete_an_org_and_its_members_go_with_it(team: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    assert client.delete(f"{API}/orgs/{org_id}", headers=token(team, "member")).status_code == 403
    assert client.delete(f"{API}/orgs/{org_id}", headers=token(team, "manager")).status_code == 403
    assert client.delete(f"{API}/orgs/{org_id}", headers=token(team, "owner")).status_code == 204
    assert client.get(f"{API}/orgs/{org_id}", headers=token(team, "owner")).status_code == 404
    assert client.delete(f"{API}/orgs/{org_id}", headers=token(team, "owner")).status_code == 404
    assert roles(database_url, org_id) == {}


def test_the_org_new_users_join_cannot_be_deleted(
    client: TestClient[Litestar], admin: dict[str, Any], database_url: str
) -> None:
    # The test settings' SIGNUP_ORG is the default org.
    response = client.delete(f"{API}/orgs/{default_org_id(database_url)}", headers=bearer(admin["token"]))
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "new users join it" in response.json()["detail"]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM orgs WHERE is_default").fetchone() == (1,)


def test_platform_admins_act_in_every_org(team: dict[str, Any]) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    admin = token(team, "admin")
    got = client.get(f"{API}/orgs/{org_id}", headers=admin)
    assert (got.status_code, got.json()["role"]) == (200, None)
    assert client.patch(f"{API}/orgs/{org_id}", json={"name": "Renamed"}, headers=admin).status_code == 200
    assert client.get(f"{API}/orgs/{org_id}/members", headers=admin).json()["total"] == 3
    promoted = client.patch(member_path(org_id, uid(team, "member")), json={"role": "owner"}, headers=admin)
    assert (promoted.status_code, promoted.json()["role"]) == (200, "owner")
    assert client.delete(member_path(org_id, uid(team, "manager")), headers=admin).status_code == 204
    # Not a member, so not listed among the admin's own orgs.
    assert org_id not in [org["id"] for org in client.get(f"{API}/orgs", headers=admin).json()["items"]]
    assert client.delete(f"{API}/orgs/{org_id}", headers=admin).status_code == 204


def test_guests_read_their_orgs_but_change_nothing(team: dict[str, Any], database_url: str) -> None:
    """A guest who is even the org's owner: every change is 403, every read 200."""
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    set_platform_role(database_url, uid(team, "owner"), "guest")
    guest = token(team, "owner")
    assert client.get(f"{API}/orgs", headers=guest).json()["total"] == 2
    assert client.get(f"{API}/orgs/{org_id}", headers=guest).status_code == 200
    assert client.get(f"{API}/orgs/{org_id}/members", headers=guest).status_code == 200
    assert client.get(f"{API}/orgs/{org_id}/invitations", headers=guest).status_code == 200
    changes = [
        ("POST", f"{API}/orgs", {"name": "Mine", "slug": "mine"}),
        ("PATCH", f"{API}/orgs/{org_id}", {"name": "Mine"}),
        ("DELETE", f"{API}/orgs/{org_id}", None),
        ("PATCH", member_path(org_id, uid(team, "member")), {"role": "admin"}),
        ("DELETE", member_path(org_id, uid(team, "member")), None),
        ("DELETE", member_path(org_id, uid(team, "owner")), None),
        ("POST", f"{API}/orgs/{org_id}/invitations", {"email": "new@example.com", "role": "member"}),
        ("DELETE", f"{API}/orgs/{org_id}/invitations/{uuid.uuid4()}", None),
    ]
    for method, path, payload in changes:
        response = client.request(method, path, json=payload, headers=guest)
        assert response.status_code == 403, (method, path, response.text)
        assert "guests" in response.json()["detail"]
    assert len(roles(database_url, org_id)) == 3


def test_a_guest_by_default_user_role_cannot_create_an_org(client: TestClient[Litestar], make_settings: Any) -> None:
    from agentpress.web.app import create_app

    register(client, "admin@example.com")
    with TestClient(app=create_app(make_settings(default_user_role="guest"))) as guest_client:
        guest = register(guest_client, "guest@example.com")
        response = guest_client.post(
            f"{API}/orgs", json={"name": "Mine", "slug": "mine"}, headers=bearer(guest["token"])
        )
        assert response.status_code == 403


ORG_ROUTES = [
    ("GET", "/orgs/{org}", None),
    ("PATCH", "/orgs/{org}", {"name": "Taken"}),
    ("DELETE", "/orgs/{org}", None),
    ("GET", "/orgs/{org}/members", None),
    ("PATCH", "/orgs/{org}/members/{user}", {"role": "admin"}),
    ("DELETE", "/orgs/{org}/members/{user}", None),
    ("DELETE", "/orgs/{org}/members/{self}", None),
    ("POST", "/orgs/{org}/invitations", {"email": "new@example.com", "role": "member"}),
    ("GET", "/orgs/{org}/invitations", None),
    ("DELETE", "/orgs/{org}/invitations/{invitation}", None),
]


@pytest.mark.parametrize(("method", "route", "payload"), ORG_ROUTES, ids=[f"{m} {r}" for m, r, _ in ORG_ROUTES])
def test_another_orgs_id_is_404_on_every_org_route(
    team: dict[str, Any], database_url: str, method: str, route: str, payload: dict[str, Any] | None
) -> None:
    """The outsider owns an org of their own, so they are allowed to do all this, just not there."""
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    invited = client.post(
        f"{API}/orgs/{org_id}/invitations", json={"email": "x@example.com"}, headers=token(team, "owner")
    )
    invitation_id = invited.json()["id"]
    create_org(client, team["outsider"]["token"], "outsiders")
    for target in (org_id, str(uuid.uuid4())):
        path = API + route.format(
            org=target, user=uid(team, "member"), self=uid(team, "outsider"), invitation=invitation_id
        )
        response = client.request(method, path, json=payload, headers=token(team, "outsider"))
        assert response.status_code == 404, (path, response.text)
        assert response.json()["detail"] == "org not found"
    assert len(roles(database_url, org_id)) == 3
    assert client.get(f"{API}/orgs/{org_id}", headers=token(team, "owner")).json()["name"] == "Acme"


# Members


def test_members_see_who_is_in_the_org_and_their_roles_but_not_their_emails(team: dict[str, Any]) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    listed = client.get(f"{API}/orgs/{org_id}/members", headers=token(team, "member"))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(m["user_id"], m["role"], m["email"]) for m in items] == [
        (uid(team, "manager"), "admin", None),
        (uid(team, "member"), "member", None),
        (uid(team, "owner"), "owner", None),
    ]


def test_owners_admins_and_platform_admins_see_members_with_their_emails(team: dict[str, Any]) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    for who in ("owner", "manager", "admin"):
        listed = client.get(f"{API}/orgs/{org_id}/members", headers=token(team, who)).json()
        assert [m["email"] for m in listed["items"]] == [
            "manager@example.com",
            "member@example.com",
            "owner@example.com",
        ], who


def test_members_are_listed_with_who_they_are(team: dict[str, Any]) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    listed = client.get(f"{API}/orgs/{org_id}/members", headers=token(team, "owner"))
    assert listed.status_code == 200
    body = listed.json()
    assert (body["total"], body["page"], body["page_size"]) == (3, 1, 20)
    assert [(m["email"], m["role"]) for m in body["items"]] == [
        ("manager@example.com", "admin"),
        ("member@example.com", "member"),
        ("owner@example.com", "owner"),
    ]
    first = body["items"][0]
    assert set(first) == {
        "org_id",
        "user_id",
        "email",
        "username",
        "first_name",
        "last_name",
        "display_name",
        "avatar_url",
        "role",
        "created_at",
    }
    assert (first["org_id"], first["user_id"]) == (org_id, uid(team, "manager"))
    page = client.get(f"{API}/orgs/{org_id}/members", params={"page": 2, "page_size": 2}, headers=token(team, "owner"))
    assert [m["email"] for m in page.json()["items"]] == ["owner@example.com"]


def test_owners_and_org_admins_change_roles(team: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    path = member_path(org_id, uid(team, "member"))
    by_admin = client.patch(path, json={"role": "admin"}, headers=token(team, "manager"))
    assert by_admin.status_code == 200
    assert (by_admin.json()["email"], by_admin.json()["role"]) == ("member@example.com", "admin")
    by_owner = client.patch(path, json={"role": "member"}, headers=token(team, "owner"))
    assert (by_owner.status_code, by_owner.json()["role"]) == (200, "member")
    bad = client.patch(path, json={"role": "superuser"}, headers=token(team, "owner"))
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "role"
    assert roles(database_url, org_id)[uid(team, "member")] == "member"


def test_members_manage_nobody(team: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    member = token(team, "member")
    for target in ("manager", "member", "owner"):
        assert (
            client.patch(member_path(org_id, uid(team, target)), json={"role": "owner"}, headers=member).status_code
            == 403
        )
    assert client.delete(member_path(org_id, uid(team, "manager")), headers=member).status_code == 403
    assert roles(database_url, org_id) == {
        uid(team, "owner"): "owner",
        uid(team, "manager"): "admin",
        uid(team, "member"): "member",
    }


def test_only_owners_grant_or_take_away_ownership(team: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    manager = token(team, "manager")
    assert (
        client.patch(member_path(org_id, uid(team, "member")), json={"role": "owner"}, headers=manager).status_code
        == 403
    )
    assert (
        client.patch(member_path(org_id, uid(team, "manager")), json={"role": "owner"}, headers=manager).status_code
        == 403
    )
    assert (
        client.patch(member_path(org_id, uid(team, "owner")), json={"role": "member"}, headers=manager).status_code
        == 403
    )
    assert client.delete(member_path(org_id, uid(team, "owner")), headers=manager).status_code == 403
    assert roles(database_url, org_id)[uid(team, "owner")] == "owner"
    granted = client.patch(
        member_path(org_id, uid(team, "member")), json={"role": "owner"}, headers=token(team, "owner")
    )
    assert (granted.status_code, granted.json()["role"]) == (200, "owner")
    # Now there are two owners: one may take the other's ownership away, and remove them.
    taken = client.patch(member_path(org_id, uid(team, "member")), json={"role": "admin"}, headers=token(team, "owner"))
    assert (taken.status_code, taken.json()["role"]) == (200, "admin")


def test_org_admins_remove_members_and_admins(team: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    assert client.delete(member_path(org_id, uid(team, "member")), headers=token(team, "manager")).status_code == 204
    assert uid(team, "member") not in roles(database_url, org_id)
    # The removed member no longer sees the org.
    assert client.get(f"{API}/orgs/{org_id}", headers=token(team, "member")).status_code == 404
    assert client.delete(member_path(org_id, uid(team, "manager")), headers=token(team, "owner")).status_code == 204
    assert roles(database_url, org_id) == {uid(team, "owner"): "owner"}


def test_anyone_may_leave(team: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    assert client.delete(member_path(org_id, uid(team, "member")), headers=token(team, "member")).status_code == 204
    assert client.delete(member_path(org_id, uid(team, "manager")), headers=token(team, "manager")).status_code == 204
    assert roles(database_url, org_id) == {uid(team, "owner"): "owner"}


def test_a_user_who_is_not_a_member_is_404(team: dict[str, Any]) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    for user_id in (uid(team, "outsider"), str(uuid.uuid4())):
        changed = client.patch(member_path(org_id, user_id), json={"role": "admin"}, headers=token(team, "owner"))
        assert (changed.status_code, changed.json()["detail"]) == (404, "member not found")
        removed = client.delete(member_path(org_id, user_id), headers=token(team, "owner"))
        assert (removed.status_code, removed.json()["detail"]) == (404, "member not found")


def test_the_last_owner_cannot_leave_be_demoted_or_removed(team: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    owner_path = member_path(org_id, uid(team, "owner"))
    attempts = [
        ("leave", client.delete(owner_path, headers=token(team, "owner"))),
        ("be demoted", client.patch(owner_path, json={"role": "admin"}, headers=token(team, "owner"))),
        ("be demoted", client.patch(owner_path, json={"role": "member"}, headers=token(team, "admin"))),
        ("be removed", client.delete(owner_path, headers=token(team, "admin"))),
    ]
    for action, response in attempts:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "conflict"
        assert f"last owner cannot {action}" in response.json()["detail"]
    # Keeping the role is no change and is allowed.
    assert client.patch(owner_path, json={"role": "owner"}, headers=token(team, "owner")).status_code == 200
    assert roles(database_url, org_id)[uid(team, "owner")] == "owner"
    # With a second owner, the first may go.
    client.patch(member_path(org_id, uid(team, "member")), json={"role": "owner"}, headers=token(team, "owner"))
    assert client.delete(owner_path, headers=token(team, "owner")).status_code == 204
    assert roles(database_url, org_id)[uid(team, "member")] == "owner"


def test_two_owners_cannot_both_go_at_once(team: dict[str, Any], database_url: str) -> None:
    """While one owner's demotion is in flight, the other's leaving waits for it, then sees they are the last."""
    client: TestClient[Litestar] = team["client"]
    org_id = team["org"]["id"]
    join_owner = uid(team, "manager")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE org_members SET role = 'owner' WHERE org_id = %s AND user_id = %s", [org_id, join_owner])
    with psycopg.connect(database_url) as other, ThreadPoolExecutor(1) as pool:
        # The other request, stopped between its lock and its commit: the manager is demoted.
        other.execute(
            "SELECT user_id FROM org_members WHERE org_id = %s AND role = 'owner' ORDER BY user_id FOR UPDATE",
            [org_id],
        )
        other.execute("UPDATE org_members SET role = 'admin' WHERE org_id = %s AND user_id = %s", [org_id, join_owner])
        leaving = pool.submit(client.delete, member_path(org_id, uid(team, "owner")), headers=token(team, "owner"))
        time.sleep(0.5)
        assert not leaving.done(), "the leave did not wait for the owner rows' locks"
        other.commit()
        response = leaving.result(timeout=10)
    assert response.status_code == 409, response.text
    assert roles(database_url, org_id) == {
        uid(team, "owner"): "owner",
        uid(team, "manager"): "admin",
        uid(team, "member"): "member",
    }
