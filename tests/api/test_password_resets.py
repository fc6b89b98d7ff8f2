"""Password reset: 202 either way, the same statements either way (the work is queued), a single-use hour-long
token by mail, the newest token only, sessions ended, the email verified."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from helpers import PASSWORD, bearer, link_token, mailed_bodies, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient[Litestar]]:
    """The service, working through queued reset requests every 20 ms rather than every second."""
    with TestClient(app=create_app(make_settings(password_reset_poll_seconds=0.02))) as test_client:
        yield test_client


def mailed_tokens(database_url: str, to_email: str, count: int = 1) -> list[str]:
    """The reset tokens mailed to an address, oldest first, once `count` of them are."""
    bodies = mailed_bodies(database_url, kind="password_reset", to_email=to_email, count=count)
    return [link_token(body) for body in bodies]


def wait_for_empty_queue(database_url: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(database_url) as conn:
            if conn.execute("SELECT count(*) FROM password_reset_requests").fetchone() == (0,):
                return
        assert time.monotonic() < deadline, "the reset requests were not worked through"
        time.sleep(0.02)


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
    wait_for_empty_queue(database_url)
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
    mailed_tokens(database_url, "ada@example.com")
    ask_reset(client, "ada@example.com")
    older, newer = mailed_tokens(database_url, "ada@example.com", 2)
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


def test_a_reset_verifies_the_email(client: TestClient[Litestar], database_url: str) -> None:
    ada = register(client, "ada@example.com")
    assert ada["user"]["is_email_verified"] is False
    ask_reset(client, "ada@example.com")
    (token,) = mailed_tokens(database_url, "ada@example.com")
    assert confirm(client, token).status_code == 204
    signed_in = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": NEW_PASSWORD})
    assert signed_in.json()["user"]["is_email_verified"] is True


def statements_run(database_url: str, action: Callable[[], None]) -> Counter[str]:
    """The statements the service ran on this test's database during `action`, with how often, as
    pg_stat_statements counts them (constants and parameters taken out of the text)."""
    this_db = "(SELECT oid FROM pg_database WHERE datname = current_database())"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"SELECT pg_stat_statements_reset(0, {this_db}, 0)")
        action()
        rows = conn.execute(
            f"SELECT query, calls FROM pg_stat_statements WHERE dbid = {this_db}"  # noqa: S608 (no input)
            " AND query NOT LIKE '%%pg_stat_statements%%'"
        ).fetchall()
    return Counter({query: calls for query, calls in rows})


def test_a_reset_request_runs_the_same_statements_for_known_and_unknown_emails(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    # The background loops wait an hour between rounds: what runs meanwhile is the requests' own work.
    settings = make_settings(password_reset_poll_seconds=3600, outbox_poll_seconds=3600)
    with TestClient(app=create_app(settings)) as quiet:
        register(quiet, "ada@example.com")
        register(quiet, "disabled@example.com")
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE users SET is_disabled = true WHERE email = 'disabled@example.com'")
        # Until the loops' first round (at startup) is over, statements run that no request sent.
        deadline = time.monotonic() + 10
        while statements_run(database_url, lambda: time.sleep(0.2)):
            assert time.monotonic() < deadline, "the service never went quiet"
        runs = {
            email: statements_run(database_url, lambda email=email: ask_reset(quiet, email))  # type: ignore[misc]
            for email in ("ada@example.com", "nobody@example.com", "disabled@example.com", "ADA@example.com")
        }
    known = runs["ada@example.com"]
    assert known, "pg_stat_statements saw nothing"
    assert all(statements == known for statements in runs.values()), runs
    # Nothing about the account was looked up: that happens off the request, from the queue.
    assert not any("FROM users" in query for query in known), known
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM password_reset_requests").fetchone() == (4,)
        assert conn.execute("SELECT count(*) FROM password_resets").fetchone() == (0,)


def test_queued_requests_are_worked_through_oldest_first_and_survive_a_restart(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    with TestClient(app=create_app(make_settings(password_reset_poll_seconds=3600))) as first:
        register(first, "ada@example.com")
        ask_reset(first, "ada@example.com")
        ask_reset(first, "nobody@example.com")
    # Queued by a process that stopped before working on them: the next one mails them.
    with TestClient(app=create_app(make_settings(password_reset_poll_seconds=0.02))):
        (token,) = mailed_tokens(database_url, "ada@example.com")
        wait_for_empty_queue(database_url)
    assert token
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM email_outbox WHERE kind = 'password_reset'").fetchone() == (1,)
