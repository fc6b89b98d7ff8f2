"""Password reset: 202 either way, a single-use hour-long token by mail, the newest token only, sessions ended."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from helpers import PASSWORD, bearer, link_token, outbox_bodies, register
from litestar import Litestar
from litestar.testing import TestClient

NEW_PASSWORD = "a brand new passphrase"


def mailed_tokens(database_url: str, to_email: str) -> list[str]:
    """The reset tokens mailed to an address, oldest first."""
    return [link_token(body) for body in outbox_bodies(database_url, kind="password_reset", to_email=to_email)]


def ask_reset(client: TestClient[Litestar], email: str) -> None:
    response = client.post("/api/v1/auth/password-resets", json={"email": email})
    assert response.status_code == 202, response.text


def confirm(client: TestClient[Litestar], token: str, password: str = NEW_PASSWORD) -> Any:
    return client.post("/api/v1/auth/password-resets/confirm", json={"token": token, "password": password})


def login(client: TestClient[Litestar], email: str, password: str) -> int:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password}).status_code


def test_reset_flow_sets_the_password_and_ends_every_session(client: TestClient[Litestar], database_url: str) -> None:
    session_token = register(client, "ada@example.com")["token"]
    ask_reset(client, "ADA@example.com")
    (token,) = mailed_tokens(database_url, "ada@example.com")
    assert confirm(client, token).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(session_token)).status_code == 401
    assert login(client, "ada@example.com", PASSWORD) == 401
    assert login(client, "ada@example.com", NEW_PASSWORD) == 200


def test_unknown_email_gets_202_and_nothing_is_mailed(client: TestClient[Litestar], database_url: str) -> None:
    ask_reset(client, "nobody@example.com")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM email_outbox").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM password_resets").fetchone() == (0,)


def test_a_token_works_once(client: TestClient[Litestar], database_url: str) -> None:
    register(client, "ada@example.com")
    ask_reset(client, "ada@example.com")
    (token,) = mailed_tokens(database_url, "ada@example.com")
    assert confirm(client, token).status_code == 204
    reused = confirm(client, token, "yet another passphrase")
    assert reused.status_code == 400
    assert reused.json()["errors"][0]["field"] == "token"
    assert login(client, "ada@example.com", NEW_PASSWORD) == 200


def test_a_newer_token_voids_older_ones(client: TestClient[Litestar], database_url: str) -> None:
    register(client, "ada@example.com")
    ask_reset(client, "ada@example.com")
    ask_reset(client, "ada@example.com")
    older, newer = mailed_tokens(database_url, "ada@example.com")
    assert confirm(client, older).status_code == 400
    assert confirm(client, newer).status_code == 204


def test_an_expired_token_is_rejected(client: TestClient[Litestar], database_url: str) -> None:
    register(client, "ada@example.com")
    ask_reset(client, "ada@example.com")
    (token,) = mailed_tokens(database_url, "ada@example.com")
    with psycopg.connect(database_url) as conn:
        (lifetime,) = conn.execute("SELECT expires_at - created_at FROM password_resets").fetchone()
        conn.execute("UPDATE password_resets SET expires_at = now() - interval '1 second'")
    assert lifetime.total_seconds() == pytest.approx(3600, abs=5)
    assert confirm(client, token).status_code == 400
    assert login(client, "ada@example.com", PASSWORD) == 200


@pytest.mark.parametrize("token", ["", "x" * 129, "not-a-real-token"])
def test_bad_tokens_are_rejected_naming_token(client: TestClient[Litestar], token: str) -> None:
    response = confirm(client, token)
    assert response.status_code in (400, 422)
    assert "token" in [error["field"] for error in response.json()["errors"]]


def test_a_short_new_password_is_422_and_keeps_the_token_usable(
    client: TestClient[Litestar], database_url: str
) -> None:
    register(client, "ada@example.com")
    ask_reset(client, "ada@example.com")
    (token,) = mailed_tokens(database_url, "ada@example.com")
    short = confirm(client, token, "short")
    assert short.status_code == 422
    assert short.json()["errors"] == [{"field": "password", "message": "must be at least 8 characters"}]
    assert confirm(client, token).status_code == 204
