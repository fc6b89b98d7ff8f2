"""Invitations: issued by an org's owners and admins, mailed through the outbox, accepted once by the invited email."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from helpers import bearer, forget_cached_credentials, link_token, outbox_bodies, register, verify_email
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services.crypto import hash_token
from agentpress.settings import Settings

API = "/api/v1"
ACCEPT = f"{API}/invitations/accept"


def create_org(client: TestClient[Litestar], token: str, slug: str) -> str:
    response = client.post(f"{API}/orgs", json={"name": slug.title(), "slug": slug}, headers=bearer(token))
    assert response.status_code == 201, response.text
    org_id: str = response.json()["id"]
    return org_id


def join(database_url: str, org_id: str, user_id: str, role: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO org_members (org_id, user_id, role) VALUES (%s, %s, %s)", [org_id, user_id, role])


def invite(client: TestClient[Litestar], token: str, org_id: str, email: str, role: str = "member") -> Any:
    return client.post(f"{API}/orgs/{org_id}/invitations", json={"email": email, "role": role}, headers=bearer(token))


def mailed_token(database_url: str, email: str) -> str:
    """The token in the newest invitation mailed to `email`."""
    return link_token(outbox_bodies(database_url, kind="invitation", to_email=email)[-1])


def membership(database_url: str, org_id: str, user_id: str) -> str | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT role FROM org_members WHERE org_id = %s AND user_id = %s", [org_id, user_id]
        ).fetchone()
    return None if row is None else str(row[0])


def register_verified(client: TestClient[Litestar], database_url: str, email: str) -> dict[str, Any]:
    """Register someone whose email is verified: only they may accept an invitation."""
    person = register(client, email)
    verify_email(database_url, email)
    return person


@pytest.fixture
def org(client: TestClient[Litestar], admin: dict[str, Any], database_url: str) -> dict[str, Any]:
    """An org "acme" with an owner, an org admin and a member, none of them a platform admin."""
    people = {name: register(client, f"{name}@example.com") for name in ("owner", "manager", "member")}
    org_id = create_org(client, people["owner"]["token"], "acme")
    join(database_url, org_id, people["manager"]["user"]["id"], "admin")
    join(database_url, org_id, people["member"]["user"]["id"], "member")
    return {"id": org_id, "client": client, **{name: person["token"] for name, person in people.items()}}


def test_an_invitation_is_mailed_with_its_link_and_stored_only_as_a_hash(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    from agentpress.web.app import create_app

    with TestClient(app=create_app(make_settings(public_base_url="https://agentpress.example/"))) as app:
        owner = register_verified(app, database_url, "owner@example.com")
        org_id = create_org(app, owner["token"], "acme")
        response = invite(app, owner["token"], org_id, "Newcomer@Example.com", "admin")
    assert response.status_code == 201, response.text
    invitation = response.json()
    assert set(invitation) == {
        "id",
        "org_id",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    }
    assert (invitation["org_id"], invitation["email"], invitation["role"]) == (org_id, "Newcomer@Example.com", "admin")
    assert invitation["invited_by"] == owner["user"]["id"]
    assert invitation["accepted_at"] is None and invitation["revoked_at"] is None

    (body,) = outbox_bodies(database_url, kind="invitation", to_email="newcomer@example.com")
    token = link_token(body)
    assert f"https://agentpress.example/invitations/accept?token={token}" in body
    assert "Acme" in body
    with psycopg.connect(database_url) as conn:
        (subject,) = conn.execute("SELECT subject FROM email_outbox WHERE kind = 'invitation'").fetchone()  # type: ignore[misc]
        rows = conn.execute(
            "SELECT token_hash, expires_at - created_at, row_to_json(i)::text FROM invitations AS i"
        ).fetchall()
    assert "Acme" in subject
    ((token_hash, lifetime, stored),) = rows
    assert bytes(token_hash) == hash_token(token)
    assert lifetime.days == 7 or (lifetime.days == 6 and lifetime.seconds > 86000)
    assert token not in stored and token.encode().hex() not in stored


def test_the_invited_user_accepts_once_and_joins_with_the_role(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    invitation = invite(client, org["owner"], org["id"], "Newcomer@Example.com", "admin").json()
    token = mailed_token(database_url, "newcomer@example.com")
    # The same address in another case is the same address.
    newcomer = register_verified(client, database_url, "NEWCOMER@example.com")
    accepted = client.post(ACCEPT, json={"token": token}, headers=bearer(newcomer["token"]))
    assert accepted.status_code == 200, accepted.text
    assert set(accepted.json()) == {"org_id", "user_id", "role", "created_at"}
    assert (accepted.json()["org_id"], accepted.json()["user_id"], accepted.json()["role"]) == (
        org["id"],
        newcomer["user"]["id"],
        "admin",
    )
    assert membership(database_url, org["id"], newcomer["user"]["id"]) == "admin"
    mine = client.get(f"{API}/orgs", headers=bearer(newcomer["token"])).json()["items"]
    assert (org["id"], "admin") in [(o["id"], o["role"]) for o in mine]
    listed = client.get(f"{API}/orgs/{org['id']}/invitations", headers=bearer(org["owner"])).json()["items"]
    assert listed[0]["id"] == invitation["id"]
    assert listed[0]["accepted_at"] is not None

    again = client.post(ACCEPT, json={"token": token}, headers=bearer(newcomer["token"]))
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "token"


def test_accepting_needs_a_signed_in_user(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    invite(client, org["owner"], org["id"], "newcomer@example.com")
    assert client.post(ACCEPT, json={"token": mailed_token(database_url, "newcomer@example.com")}).status_code == 401


def test_another_email_is_403_and_leaves_the_invitation_usable(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    invite(client, org["owner"], org["id"], "newcomer@example.com")
    token = mailed_token(database_url, "newcomer@example.com")
    intruder = register_verified(client, database_url, "intruder@example.com")
    refused = client.post(ACCEPT, json={"token": token}, headers=bearer(intruder["token"]))
    assert refused.status_code == 403
    assert "another email address" in refused.json()["detail"]
    assert membership(database_url, org["id"], intruder["user"]["id"]) is None
    newcomer = register_verified(client, database_url, "newcomer@example.com")
    assert client.post(ACCEPT, json={"token": token}, headers=bearer(newcomer["token"])).status_code == 200


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown"])
def test_an_expired_revoked_or_unknown_token_is_400_naming_token(
    org: dict[str, Any], database_url: str, state: str
) -> None:
    client: TestClient[Litestar] = org["client"]
    invitation_id = invite(client, org["owner"], org["id"], "newcomer@example.com").json()["id"]
    token = mailed_token(database_url, "newcomer@example.com")
    if state == "expired":
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE invitations SET expires_at = now() - interval '1 second'")
    elif state == "revoked":
        revoked = client.delete(f"{API}/orgs/{org['id']}/invitations/{invitation_id}", headers=bearer(org["owner"]))
        assert revoked.status_code == 204
    else:
        token = token[:-4] + "AAAA" if not token.endswith("AAAA") else token[:-4] + "BBBB"
    newcomer = register_verified(client, database_url, "newcomer@example.com")
    response = client.post(ACCEPT, json={"token": token}, headers=bearer(newcomer["token"]))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.json()["errors"] == [{"field": "token", "message": "is unknown, expired, revoked or already used"}]
    assert membership(database_url, org["id"], newcomer["user"]["id"]) is None


@pytest.mark.parametrize("payload", [{}, {"token": ""}, {"token": "x" * 129}, {"token": 7}])
def test_a_malformed_accept_is_400_naming_token(org: dict[str, Any], payload: dict[str, Any]) -> None:
    client: TestClient[Litestar] = org["client"]
    response = client.post(ACCEPT, json=payload, headers=bearer(org["member"]))
    assert response.status_code == 400
    assert "token" in [error["field"] for error in response.json()["errors"]]


def test_a_member_accepting_again_is_409_and_the_invitation_stays_open(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    newcomer = register_verified(client, database_url, "newcomer@example.com")
    invite(client, org["owner"], org["id"], "newcomer@example.com", "member")
    first = mailed_token(database_url, "newcomer@example.com")
    invite(client, org["owner"], org["id"], "newcomer@example.com", "admin")
    second = mailed_token(database_url, "newcomer@example.com")
    assert client.post(ACCEPT, json={"token": first}, headers=bearer(newcomer["token"])).status_code == 200
    conflict = client.post(ACCEPT, json={"token": second}, headers=bearer(newcomer["token"]))
    assert conflict.status_code == 409
    assert "already a member" in conflict.json()["detail"]
    assert membership(database_url, org["id"], newcomer["user"]["id"]) == "member"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM invitations WHERE accepted_at IS NULL").fetchone() == (1,)


def test_inviting_a_member_is_409_naming_email(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    response = invite(client, org["owner"], org["id"], "MEMBER@example.com")
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "email", "message": "already belongs to a member of this org"}]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM invitations").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM email_outbox WHERE kind = 'invitation'").fetchone() == (0,)


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "email"), ({"email": "not-an-email"}, "email"), ({"email": "a@example.com", "role": "boss"}, "role")],
)
def test_bad_invitation_input_is_400_naming_the_field(
    org: dict[str, Any], database_url: str, payload: dict[str, Any], field: str
) -> None:
    client: TestClient[Litestar] = org["client"]
    response = client.post(f"{API}/orgs/{org['id']}/invitations", json=payload, headers=bearer(org["owner"]))
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM invitations").fetchone() == (0,)


def test_who_may_invite(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    assert invite(client, org["member"], org["id"], "a@example.com").status_code == 403
    assert invite(client, org["manager"], org["id"], "b@example.com", "owner").status_code == 403
    assert invite(client, org["manager"], org["id"], "c@example.com", "admin").status_code == 201
    assert invite(client, org["owner"], org["id"], "d@example.com", "owner").status_code == 201
    with psycopg.connect(database_url) as conn:
        invited = conn.execute("SELECT email::text, role FROM invitations ORDER BY email").fetchall()
        mailed = conn.execute(
            "SELECT to_email::text FROM email_outbox WHERE kind = 'invitation' ORDER BY to_email"
        ).fetchall()
    assert invited == [("c@example.com", "admin"), ("d@example.com", "owner")]
    assert mailed == [("c@example.com",), ("d@example.com",)]


def test_a_platform_admin_invites_into_any_org(org: dict[str, Any], admin: dict[str, Any]) -> None:
    client: TestClient[Litestar] = org["client"]
    assert invite(client, admin["token"], org["id"], "e@example.com", "owner").status_code == 201
    assert client.get(f"{API}/orgs/{org['id']}/invitations", headers=bearer(admin["token"])).json()["total"] == 1


def test_invitations_are_listed_newest_first_to_owners_and_admins(org: dict[str, Any]) -> None:
    client: TestClient[Litestar] = org["client"]
    ids = [invite(client, org["owner"], org["id"], f"n{n}@example.com").json()["id"] for n in range(3)]
    listed = client.get(f"{API}/orgs/{org['id']}/invitations", headers=bearer(org["manager"]))
    assert listed.status_code == 200
    body = listed.json()
    assert [item["id"] for item in body["items"]] == ids[::-1]
    assert (body["total"], body["page"], body["page_size"]) == (3, 1, 20)
    page = client.get(
        f"{API}/orgs/{org['id']}/invitations", params={"page": 2, "page_size": 2}, headers=bearer(org["owner"])
    ).json()
    assert [item["id"] for item in page["items"]] == ids[:1]
    assert all("token" not in item and "token_hash" not in item for item in body["items"])
    assert client.get(f"{API}/orgs/{org['id']}/invitations", headers=bearer(org["member"])).status_code == 403


def test_revoking(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    invitation_id = invite(client, org["owner"], org["id"], "newcomer@example.com").json()["id"]
    path = f"{API}/orgs/{org['id']}/invitations/{invitation_id}"
    assert client.delete(path, headers=bearer(org["member"])).status_code == 403
    assert client.delete(path, headers=bearer(org["manager"])).status_code == 204
    # Revoking again changes nothing and is no error.
    assert client.delete(path, headers=bearer(org["owner"])).status_code == 204
    listed = client.get(f"{API}/orgs/{org['id']}/invitations", headers=bearer(org["owner"])).json()["items"]
    assert listed[0]["revoked_at"] is not None
    missing = client.delete(f"{API}/orgs/{org['id']}/invitations/{uuid.uuid4()}", headers=bearer(org["owner"]))
    assert (missing.status_code, missing.json()["detail"]) == (404, "invitation not found")


def test_an_invitation_is_revoked_only_through_its_own_org(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    invitation_id = invite(client, org["owner"], org["id"], "newcomer@example.com").json()["id"]
    # The member owns an org of their own, where they may revoke invitations: not this one.
    own_org = create_org(client, org["member"], "own")
    response = client.delete(f"{API}/orgs/{own_org}/invitations/{invitation_id}", headers=bearer(org["member"]))
    assert (response.status_code, response.json()["detail"]) == (404, "invitation not found")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT revoked_at FROM invitations").fetchone() == (None,)


def test_an_accepted_invitation_cannot_be_revoked(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    invitation_id = invite(client, org["owner"], org["id"], "newcomer@example.com").json()["id"]
    newcomer = register_verified(client, database_url, "newcomer@example.com")
    token = mailed_token(database_url, "newcomer@example.com")
    assert client.post(ACCEPT, json={"token": token}, headers=bearer(newcomer["token"])).status_code == 200
    response = client.delete(f"{API}/orgs/{org['id']}/invitations/{invitation_id}", headers=bearer(org["owner"]))
    assert response.status_code == 409
    assert "already been accepted" in response.json()["detail"]


def test_a_guest_may_accept_an_invitation(org: dict[str, Any], database_url: str) -> None:
    """Joining is how a guest gets an org to read; it changes nothing in the org's resources."""
    client: TestClient[Litestar] = org["client"]
    invite(client, org["owner"], org["id"], "guest@example.com")
    guest = register_verified(client, database_url, "guest@example.com")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET role = 'guest' WHERE id = %s", [guest["user"]["id"]])
    token = mailed_token(database_url, "guest@example.com")
    assert client.post(ACCEPT, json={"token": token}, headers=bearer(guest["token"])).status_code == 200
    assert client.get(f"{API}/orgs/{org['id']}/members", headers=bearer(guest["token"])).status_code == 200


def test_two_accepts_of_one_invitation_cannot_both_succeed(org: dict[str, Any], database_url: str) -> None:
    """An accept in flight holds the invitation; the second waits for it, then finds it accepted."""
    client: TestClient[Litestar] = org["client"]
    invite(client, org["owner"], org["id"], "newcomer@example.com")
    token = mailed_token(database_url, "newcomer@example.com")
    newcomer = register_verified(client, database_url, "newcomer@example.com")
    with psycopg.connect(database_url) as other, ThreadPoolExecutor(1) as pool:
        # The first accept, stopped between its claim and its commit.
        claimed = other.execute(
            "UPDATE invitations SET accepted_at = now() WHERE token_hash = %s AND accepted_at IS NULL",
            [hash_token(token)],
        )
        assert claimed.rowcount == 1
        second = pool.submit(client.post, ACCEPT, json={"token": token}, headers=bearer(newcomer["token"]))
        time.sleep(0.5)
        assert not second.done(), "the second accept did not wait for the first"
        other.commit()
        response = second.result(timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "token"
    assert membership(database_url, org["id"], newcomer["user"]["id"]) is None


def test_an_unverified_account_cannot_accept_and_is_told_why(
    org: dict[str, Any], database_url: str, redis_url: str
) -> None:
    client: TestClient[Litestar] = org["client"]
    invite(client, org["owner"], org["id"], "newcomer@example.com")
    token = mailed_token(database_url, "newcomer@example.com")
    # Anyone may register an address they do not hold: the email match alone proves nothing.
    squatter = register(client, "newcomer@example.com")
    refused = client.post(ACCEPT, json={"token": token}, headers=bearer(squatter["token"]))
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_unverified"
    assert "verify your email address" in refused.json()["detail"]
    assert membership(database_url, org["id"], squatter["user"]["id"]) is None
    verify_email(database_url, "newcomer@example.com")
    forget_cached_credentials(redis_url)  # verified in SQL, not through the API
    assert client.post(ACCEPT, json={"token": token}, headers=bearer(squatter["token"])).status_code == 200


def set_role(database_url: str, org_id: str, token: str, client: TestClient[Litestar], role: str | None) -> None:
    """Change (or with None, remove) the org role of the user of `token`, behind the API's back."""
    user_id = client.get(f"{API}/auth/me", headers=bearer(token)).json()["id"]
    with psycopg.connect(database_url) as conn:
        if role is None:
            conn.execute("DELETE FROM org_members WHERE org_id = %s AND user_id = %s", [org_id, user_id])
        else:
            conn.execute("UPDATE org_members SET role = %s WHERE org_id = %s AND user_id = %s", [role, org_id, user_id])


@pytest.mark.parametrize(
    ("inviter", "role", "inviter_now"),
    [("manager", "admin", "member"), ("manager", "admin", None), ("owner", "owner", "admin"), ("owner", "admin", None)],
)
def test_an_owner_or_admin_invitation_needs_its_sender_to_still_hold_the_power(
    org: dict[str, Any], database_url: str, inviter: str, role: str, inviter_now: str | None
) -> None:
    client: TestClient[Litestar] = org["client"]
    assert invite(client, org[inviter], org["id"], "newcomer@example.com", role).status_code == 201
    token = mailed_token(database_url, "newcomer@example.com")
    if inviter == "owner":
        # Someone else keeps the org owned while the sender steps down.
        set_role(database_url, org["id"], org["manager"], client, "owner")
    set_role(database_url, org["id"], org[inviter], client, inviter_now)
    newcomer = register_verified(client, database_url, "newcomer@example.com")
    refused = client.post(ACCEPT, json={"token": token}, headers=bearer(newcomer["token"]))
    assert refused.status_code == 403, refused.text
    assert f"may no longer grant the {role} role" in refused.json()["detail"]
    assert membership(database_url, org["id"], newcomer["user"]["id"]) is None


def test_a_disabled_or_deleted_sender_grants_no_admin_role(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    invite(client, org["manager"], org["id"], "one@example.com", "admin")
    invite(client, org["owner"], org["id"], "two@example.com", "admin")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET is_disabled = true WHERE email = 'manager@example.com'")
        conn.execute("DELETE FROM org_members WHERE user_id = (SELECT id FROM users WHERE email = 'owner@example.com')")
        conn.execute("DELETE FROM users WHERE email = 'owner@example.com'")
    for email in ("one@example.com", "two@example.com"):
        person = register_verified(client, database_url, email)
        answer = client.post(ACCEPT, json={"token": mailed_token(database_url, email)}, headers=bearer(person["token"]))
        assert answer.status_code == 403, answer.text


def test_a_member_invitation_outlives_its_senders_role(org: dict[str, Any], database_url: str) -> None:
    client: TestClient[Litestar] = org["client"]
    invite(client, org["manager"], org["id"], "newcomer@example.com", "member")
    set_role(database_url, org["id"], org["manager"], client, "member")
    newcomer = register_verified(client, database_url, "newcomer@example.com")
    token = mailed_token(database_url, "newcomer@example.com")
    assert client.post(ACCEPT, json={"token": token}, headers=bearer(newcomer["token"])).status_code == 200


def test_a_platform_admins_admin_invitation_holds_without_membership(
    org: dict[str, Any], admin: dict[str, Any], database_url: str
) -> None:
    client: TestClient[Litestar] = org["client"]
    assert invite(client, admin["token"], org["id"], "newcomer@example.com", "owner").status_code == 201
    newcomer = register_verified(client, database_url, "newcomer@example.com")
    token = mailed_token(database_url, "newcomer@example.com")
    assert client.post(ACCEPT, json={"token": token}, headers=bearer(newcomer["token"])).status_code == 200
    assert membership(database_url, org["id"], newcomer["user"]["id"]) == "owner"
