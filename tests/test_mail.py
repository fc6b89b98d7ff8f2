"""The outbox is delivered: logged by default, over SMTP to a real server on loopback when SMTP_URL is set."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from helpers import SECRET_KEY, free_port, holding, link_token, outbox_bodies, register
from litestar.testing import TestClient

from agentpress.repositories import outbox
from agentpress.services.crypto import Encryptor, outbox_body
from agentpress.services.mail import MAX_ATTEMPTS, REDACTED_LINK, SmtpSender, deliver_pending
from agentpress.settings import Settings
from agentpress.web.app import create_app


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


def wait_for(predicate: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def sent_count(database_url: str, kind: str = "password_reset") -> int:
    """How many messages of a kind were sent (registering also mails a verification link)."""
    with psycopg.connect(database_url) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM email_outbox WHERE sent_at IS NOT NULL AND kind = %s", [kind]
        ).fetchone()
    return int(count)


RESET_SUBJECT = "Reset your AgentPress password"


def test_smtp_delivers_the_outbox(
    make_settings: Callable[..., Settings], database_url: str, smtp_server: tuple[str, Inbox]
) -> None:
    smtp_url, inbox = smtp_server
    # The test server offers no STARTTLS: a relay on loopback, as SMTP_ALLOW_PLAINTEXT is meant for.
    settings = make_settings(smtp_url=smtp_url, smtp_allow_plaintext=True, outbox_poll_seconds=0.1)
    with TestClient(app=create_app(settings)) as client:
        register(client, "ada@example.com")
        assert client.post("/api/v1/auth/password-resets", json={"email": "ada@example.com"}).status_code == 202
        wait_for(lambda: sent_count(database_url) == 1)
    (message,) = [message for message in inbox.messages if message["Subject"] == RESET_SUBJECT]
    assert message["To"] == "ada@example.com"
    assert "reset-password?token=" in message.get_payload()


@pytest.mark.anyio
async def test_without_tls_nothing_is_sent_unless_plaintext_is_allowed(
    database_url: str, smtp_server: tuple[str, Inbox]
) -> None:
    smtp_url, inbox = smtp_server
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await queue(conn, Encryptor(SECRET_KEY), "ada@example.com")
        refused = SmtpSender(smtp_url, "AgentPress <no-reply@example.com>")
        assert await deliver_pending(holding(conn), refused, Encryptor(SECRET_KEY)) == 0
        row = await (await conn.execute("SELECT last_error, sent_at FROM email_outbox")).fetchone()
        assert row is not None
        last_error, sent_at = row
        assert sent_at is None
        assert "offers no STARTTLS: refused to send without TLS" in last_error
        assert "SMTP_ALLOW_PLAINTEXT" in last_error
        assert inbox.messages == []

        await conn.execute("UPDATE email_outbox SET next_attempt_at = now()")
        allowed = SmtpSender(smtp_url, "AgentPress <no-reply@example.com>", allow_plaintext=True)
        assert await deliver_pending(holding(conn), allowed, Encryptor(SECRET_KEY)) == 1
    assert len(inbox.messages) == 1


def reset_requested_and_logged(
    settings: Settings, database_url: str, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str]:
    """(the reset mail's body as queued, what the service logged while sending it)."""
    with TestClient(app=create_app(settings)) as client:
        register(client, "ada@example.com")
        client.post("/api/v1/auth/password-resets", json={"email": "ada@example.com"})
        wait_for(lambda: sent_count(database_url) == 1)
    (body,) = outbox_bodies(database_url, kind="password_reset", to_email="ada@example.com")
    return body, capsys.readouterr().err


def test_without_smtp_the_message_is_logged_its_links_redacted_and_marked_sent(
    make_settings: Callable[..., Settings], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body, logged = reset_requested_and_logged(make_settings(outbox_poll_seconds=0.1), database_url, capsys)
    assert f"mail to ada@example.com: {RESET_SUBJECT}" in logged
    assert "Someone asked to reset the password" in logged
    assert REDACTED_LINK in logged
    assert link_token(body) not in logged
    assert "reset-password?token=" not in logged
    assert "token=" not in logged  # nor any other mail's link (registering mails one)


def test_mail_log_links_shows_the_links_in_the_log(
    make_settings: Callable[..., Settings], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(outbox_poll_seconds=0.1, mail_log_links=True)
    body, logged = reset_requested_and_logged(settings, database_url, capsys)
    assert f"reset-password?token={link_token(body)}" in logged
    assert REDACTED_LINK not in logged


def test_an_unreachable_smtp_server_keeps_the_message_for_a_retry(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    with TestClient(app=create_app(make_settings(smtp_url="smtp://127.0.0.1:1", outbox_poll_seconds=0.1))) as client:
        register(client, "ada@example.com")
        client.post("/api/v1/auth/password-resets", json={"email": "ada@example.com"})

        def attempted() -> bool:
            with psycopg.connect(database_url) as conn:
                row = conn.execute("SELECT attempts, last_error, sent_at FROM email_outbox").fetchone()
            return row is not None and row[1] is not None

        wait_for(attempted)
    with psycopg.connect(database_url) as conn:
        _, last_error, sent_at = conn.execute("SELECT attempts, last_error, sent_at FROM email_outbox").fetchone()
    assert sent_at is None
    assert last_error


class Picky:
    """A sender that fails in an unexpected way on one address."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, mail: Any) -> None:
        if mail.to_email == "poison@example.com":
            raise ValueError("not the kind of error a sender is expected to raise")
        self.sent.append(mail.to_email)


async def queue(conn: psycopg.AsyncConnection[Any], cipher: Encryptor, to_email: str, body: str = "body") -> UUID:
    """Queue a message as queue_email does, its body sealed by `cipher`; returns its id."""
    email_id = uuid4()
    sealed = cipher.encrypt(body, binding=outbox_body(email_id))
    await outbox.create_outbox_email(
        conn, email_id=email_id, kind="invitation", to_email=to_email, subject="Hi", body=sealed
    )
    return email_id


@pytest.mark.anyio
async def test_a_message_that_breaks_the_sender_does_not_stop_the_others(database_url: str) -> None:
    cipher = Encryptor(SECRET_KEY)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for to_email in ("poison@example.com", "ada@example.com"):
            await queue(conn, cipher, to_email)
        sender = Picky()
        assert await deliver_pending(holding(conn), sender, cipher) == 1
        assert sender.sent == ["ada@example.com"]
        # The failed one waits out its backoff instead of being retried at once.
        assert await deliver_pending(holding(conn), sender, cipher) == 0
        row = await (
            await conn.execute(
                "SELECT attempts, last_error, next_attempt_at > now() FROM email_outbox"
                " WHERE to_email = 'poison@example.com'"
            )
        ).fetchone()
    assert row == (1, "not the kind of error a sender is expected to raise", True)


@pytest.mark.anyio
async def test_a_body_that_no_longer_decrypts_is_given_up(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await queue(conn, Encryptor("another-secret-key-that-is-long-enough-000"), "ada@example.com")
        assert await deliver_pending(holding(conn), Picky(), Encryptor(SECRET_KEY)) == 0
        row = await (await conn.execute("SELECT attempts, sent_at FROM email_outbox")).fetchone()
    assert row == (MAX_ATTEMPTS, None)


@pytest.mark.anyio
async def test_a_body_copied_into_another_message_is_refused(database_url: str) -> None:
    cipher = Encryptor(SECRET_KEY)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        secret = await queue(conn, cipher, "victim@example.com", "reset link: https://example.com/?token=secret")
        # Someone who can write the table (not read the key) points their own message at the victim's body.
        attacker = await queue(conn, cipher, "attacker@example.com")
        await conn.execute("UPDATE email_outbox SET sent_at = now() WHERE id = %s", [secret])
        await conn.execute(
            "UPDATE email_outbox SET body = (SELECT body FROM email_outbox WHERE id = %s) WHERE id = %s",
            [secret, attacker],
        )
        sender = Picky()
        assert await deliver_pending(holding(conn), sender, cipher) == 0
        assert sender.sent == []
        row = await (
            await conn.execute("SELECT attempts, last_error FROM email_outbox WHERE id = %s", [attacker])
        ).fetchone()
    assert row is not None
    assert row[0] == MAX_ATTEMPTS
    assert "does not decrypt" in row[1]
