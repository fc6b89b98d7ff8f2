"""The database holds no raw token: after the flows that issue them, every table is searched for each one."""

from __future__ import annotations

from typing import Any

import psycopg
from helpers import PASSWORD, bearer, link_token, mailed_bodies, outbox_bodies, register, verify_email
from litestar import Litestar
from litestar.testing import TestClient
from psycopg import sql


def database_text(database_url: str) -> str:
    """Every row of every table in the public schema, as JSON text (bytea as hex)."""
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        ).fetchall()
        dump = sql.SQL("SELECT row_to_json(t)::text FROM {} AS t")
        return "\n".join(str(row[0]) for (table,) in tables for row in conn.execute(dump.format(sql.Identifier(table))))


def assert_nowhere(database_url: str, secrets: list[str]) -> None:
    text = database_text(database_url)
    for secret in secrets:
        assert secret not in text
        assert secret.encode().hex() not in text


def test_session_reset_and_invitation_tokens_are_stored_only_as_hashes(
    client: TestClient[Litestar], database_url: str
) -> None:
    admin = register(client, "admin@example.com")["token"]
    seen: list[str] = [admin]
    seen.append(register(client, "ada@example.com")["token"])
    seen.append(
        client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json()["token"]
    )
    client.post("/api/v1/auth/password-resets", json={"email": "ada@example.com"})
    mailed_bodies(database_url, kind="password_reset", to_email="ada@example.com")
    client.post("/api/v1/auth/password-resets", json={"email": "ada@example.com"})
    resets = [
        link_token(body)
        for body in mailed_bodies(database_url, kind="password_reset", to_email="ada@example.com", count=2)
    ]
    seen += resets
    client.post("/api/v1/auth/password-resets/confirm", json={"token": resets[-1], "password": "another passphrase"})
    assert client.get("/api/v1/auth/me", headers=bearer(seen[1])).status_code == 401
    assert len(set(seen)) == 5

    # An invitation to a new org, accepted.
    org = client.post("/api/v1/orgs", json={"name": "Acme", "slug": "acme"}, headers=bearer(admin)).json()["id"]
    invited = client.post(
        f"/api/v1/orgs/{org}/invitations",
        json={"email": "bob@example.com", "role": "member"},
        headers=bearer(admin),
    )
    assert invited.status_code == 201, invited.text
    (invitation,) = [link_token(b) for b in outbox_bodies(database_url, kind="invitation", to_email="bob@example.com")]
    bob = register(client, "bob@example.com")["token"]
    verify_email(database_url, "bob@example.com")  # an unverified account cannot accept an invitation
    assert client.post("/api/v1/invitations/accept", json={"token": invitation}, headers=bearer(bob)).status_code == 200
    seen += [bob, invitation]

    assert_nowhere(database_url, seen)
    with psycopg.connect(database_url) as conn:
        hashes: list[Any] = conn.execute(
            "SELECT token_hash FROM sessions UNION ALL SELECT token_hash FROM password_resets"
            " UNION ALL SELECT token_hash FROM invitations"
        ).fetchall()
    assert len(hashes) == len(seen) == 7
    assert all(len(h) == 32 for (h,) in hashes)
