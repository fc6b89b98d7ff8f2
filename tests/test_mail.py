"""The outbox is delivered: logged by default, over SMTP to a real server on loopback when SMTP_URL is set."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from helpers import free_port, register
from litestar.testing import TestClient

from agentpress.app import create_app
from agentpress.config import Settings


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


def sent_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM email_outbox WHERE sent_at IS NOT NULL").fetchone()
    return int(count)


def test_smtp_delivers_the_outbox(
    make_settings: Callable[..., Settings], database_url: str, smtp_server: tuple[str, Inbox]
) -> None:
    smtp_url, inbox = smtp_server
    settings = make_settings(smtp_url=smtp_url, outbox_poll_seconds=0.1)
    with TestClient(app=create_app(settings)) as client:
        register(client, "ada@example.com")
        assert client.post("/api/v1/auth/password-resets", json={"email": "ada@example.com"}).status_code == 202
        wait_for(lambda: len(inbox.messages) == 1)
        wait_for(lambda: sent_count(database_url) == 1)
    message = inbox.messages[0]
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Reset your AgentPress password"
    assert "reset-password?token=" in message.get_payload()


def test_without_smtp_the_message_is_logged_and_marked_sent(
    make_settings: Callable[..., Settings], database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(app=create_app(make_settings(outbox_poll_seconds=0.1))) as client:
        register(client, "ada@example.com")
        client.post("/api/v1/auth/password-resets", json={"email": "ada@example.com"})
        wait_for(lambda: sent_count(database_url) == 1)
    assert "mail to ada@example.com: Reset your AgentPress password" in capsys.readouterr().err


def test_an_unreachable_smtp_server_keeps_the_message_for_a_retry(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    with TestClient(app=create_app(make_settings(smtp_url="smtp://127.0.0.1:1", outbox_poll_seconds=0.1))) as client:
        register(client, "ada@example.com")
        client.post("/api/v1/auth/password-resets", json={"email": "ada@example.com"})

        def attempted() -> bool:
            with psycopg.connect(database_url) as conn:
                row = conn.execute("SELECT attempts, last_error, sent_at FROM email_outbox").fetchone()
            return row is not None and row[0] >= 1

        wait_for(attempted)
    with psycopg.connect(database_url) as conn:
        _, last_error, sent_at = conn.execute("SELECT attempts, last_error, sent_at FROM email_outbox").fetchone()
    assert sent_at is None
    assert last_error
