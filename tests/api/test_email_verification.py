"""Email verification: registration mails a single-use link, its use verifies the address, resends are rate limited."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from helpers import bearer, link_token, outbox_bodies, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services.crypto import hash_token
from agentpress.settings import Settings
from agentpress.web.app import create_app

API = "/api/v1/auth"


def verification_tokens(database_url: str, email: str) -> list[str]:
    """The verification tokens mailed to an address, oldest first."""
    return [link_token(body) for body in outbox_bodies(database_url, kind="email_verification", to_email=email)]


def confirm(client: TestClient[Litestar], token: str) -> Any:
    return client.post(f"{API}/email-verifications/confirm", json={"token": token})


def is_verified(client: TestClient[Litestar], token: str) -> bool:
    verified: bool = client.get(f"{API}/me", headers=bearer(token)).json()["is_email_verified"]
    return verified


def test_registration_mails_a_link_that_verifies_the_address_once(
    client: TestClient[Litestar], database_url: str
) -> None:
    ada = register(client, "Ada@Example.com")
    assert ada["user"]["is_email_verified"] is False
    (body,) = outbox_bodies(database_url, kind="email_verification", to_email="Ada@Example.com")
    assert "/verify-email?token=" in body
    token = link_token(body)
    # Opened anywhere: no sign-in needed, the token is the proof.
    assert confirm(client, token).status_code == 204
    assert is_verified(client, ada["token"])
    again = confirm(client, token)
    assert again.status_code == 400
    assert again.json()["errors"] == [{"field": "token", "message": "is invalid, expired, used or superseded"}]
    with psycopg.connect(database_url) as conn:
        (stored,) = conn.execute("SELECT token_hash FROM email_verifications").fetchone() or (None,)
    assert bytes(stored) == hash_token(token)


def test_a_resend_supersedes_the_older_link(client: TestClient[Litestar], database_url: str) -> None:
    ada = register(client, "ada@example.com")
    resent = client.post(f"{API}/email-verifications", headers=bearer(ada["token"]))
    assert resent.status_code == 202, resent.text
    older, newer = verification_tokens(database_url, "ada@example.com")
    assert confirm(client, older).status_code == 400
    assert not is_verified(client, ada["token"])
    assert confirm(client, newer).status_code == 204
    assert is_verified(client, ada["token"])


def test_a_resend_needs_a_sign_in_and_an_unverified_address(client: TestClient[Litestar], database_url: str) -> None:
    assert client.post(f"{API}/email-verifications").status_code == 401
    ada = register(client, "ada@example.com")
    (token,) = verification_tokens(database_url, "ada@example.com")
    assert confirm(client, token).status_code == 204
    answer = client.post(f"{API}/email-verifications", headers=bearer(ada["token"]))
    assert answer.status_code == 409
    assert answer.json()["detail"] == "your email address is already verified"


def test_an_expired_link_is_400(client: TestClient[Litestar], database_url: str) -> None:
    ada = register(client, "ada@example.com")
    (token,) = verification_tokens(database_url, "ada@example.com")
    with psycopg.connect(database_url) as conn:
        (lifetime,) = conn.execute("SELECT expires_at - created_at FROM email_verifications").fetchone() or (None,)
        conn.execute("UPDATE email_verifications SET expires_at = now() - interval '1 second'")
    assert lifetime.days == 2 or (lifetime.days == 1 and lifetime.seconds > 86000)
    assert confirm(client, token).status_code == 400
    assert not is_verified(client, ada["token"])


@pytest.mark.parametrize("payload", [{}, {"token": ""}, {"token": "x" * 129}, {"token": "never-issued"}])
def test_bad_tokens_are_4xx_naming_token(client: TestClient[Litestar], payload: dict[str, Any]) -> None:
    answer = client.post(f"{API}/email-verifications/confirm", json=payload)
    assert answer.status_code in (400, 422)
    assert "token" in [error["field"] for error in answer.json()["errors"]]


@pytest.mark.parametrize(
    ("setting", "detail"),
    [
        ("rate_limit_email_verification_resend_per_user", "too many verification mails for this account"),
        ("rate_limit_mail_per_recipient", "too many mails to this address"),
    ],
)
def test_resends_are_rate_limited(make_settings: Callable[..., Settings], setting: str, detail: str) -> None:
    with TestClient(app=create_app(make_settings(**{setting: "2/hour"}))) as client:
        # Redis outlives the test's database: an address of its own starts from nothing.
        ada = register(client, f"ada-{uuid.uuid4().hex}@example.com")
        answers = [client.post(f"{API}/email-verifications", headers=bearer(ada["token"])) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert answers[-1].json()["detail"].startswith(detail)
    assert int(answers[-1].headers["retry-after"]) > 0


def test_confirm_attempts_are_rate_limited_per_ip(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(rate_limit_email_verification_confirm_per_ip="2/hour")
    with TestClient(app=create_app(settings)) as client:
        statuses = [confirm(client, "never-issued").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_a_link_for_an_address_the_user_no_longer_has_verifies_nothing(
    client: TestClient[Litestar], database_url: str
) -> None:
    ada = register(client, "ada@example.com")
    (token,) = verification_tokens(database_url, "ada@example.com")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET email = 'ada@elsewhere.example'")
    assert confirm(client, token).status_code == 400
    assert not is_verified(client, ada["token"])
