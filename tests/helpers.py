"""Shared test helpers: the embedded server's details, registering users and signing requests."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.db import embedded
from agentpress.services.crypto import Encryptor, outbox_body

PASSWORD = "correct horse battery staple"
# APP_SECRET_KEY of every app the tests start.
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


@dataclass(frozen=True)
class EmbeddedServer:
    """Connection details in the shape pytest-postgresql's noproc fixture takes from `depends_on`."""

    pgdata: Path
    host: str
    port: int
    user: str = embedded.SUPERUSER
    password: str | None = None
    options: str = ""
    maintenance_dbname: str = "postgres"
    template_dbname: str | None = None

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@/{dbname}?host={quote(self.host)}&port={self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def holding_lock(database_url: str, lock: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold `lock` (a LOCK TABLE statement) in an open transaction until the block ends or the
    yielded connection rolls back: whatever needs the tables meanwhile waits, as a slow query would."""
    with psycopg.connect(database_url) as conn:
        conn.execute(lock)
        try:
            yield conn
        finally:
            conn.rollback()


def headers(people: dict[str, Any], who: str, org_id: str | None = None) -> dict[str, str]:
    """The API tests' `people` fixtures: `who`'s bearer token, acting in their home org or in `org_id`."""
    return bearer(people[who]["token"]) | ({"X-Org-Id": org_id} if org_id else {})


def api_key(
    client: TestClient[Litestar] | httpx.Client,
    owner_headers: dict[str, str],
    scopes: Sequence[str],
    name: str = "worker",
) -> dict[str, str]:
    """Make an org API key as an owner or admin of the org `owner_headers` act in; the headers that sign with it."""
    response = client.post("/api/v1/api-keys", json={"name": name, "scopes": list(scopes)}, headers=owner_headers)
    assert response.status_code == 201, response.text
    return bearer(response.json()["token"])


def register(
    client: TestClient[Litestar] | httpx.Client, email: str, password: str = PASSWORD, **fields: Any
) -> dict[str, Any]:
    """Register and return the sign-in answer: {token, expires_at, user}."""
    response = client.post("/api/v1/auth/register", json={"email": email, "password": password, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def register_at(base_url: str, email: str, *, admin_in: str | None = None) -> str:
    """Register at a live service (see `serving`) and return the bearer token; with `admin_in` (the service's
    database URL), the user is then made a platform admin (see make_platform_admin)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        signed_in = register(client, email)
    if admin_in is not None:
        make_platform_admin(admin_in, signed_in)
    token: str = signed_in["token"]
    return token


def outbox_bodies(database_url: str, *, kind: str, to_email: str) -> list[str]:
    """The decrypted bodies of the mail queued for an address, oldest first."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id, body FROM email_outbox WHERE kind = %s AND to_email = %s ORDER BY created_at, id",
            [kind, to_email],
        ).fetchall()
    decrypted = [Encryptor(SECRET_KEY).decrypt(body, binding=outbox_body(email_id)) for (email_id, body) in rows]
    assert None not in decrypted
    return [body for body in decrypted if body is not None]


def link_token(body: str) -> str:
    """The token in the link of a mail body."""
    match = re.search(r"token=([A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


@contextmanager
def serving(app: Litestar) -> Iterator[str]:
    """Serve the app with uvicorn on a free loopback port, in a thread, as `agentpress serve` would; yields
    its base URL. For tests that need real sockets: slow clients, concurrent floods."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=None, access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="live-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def make_platform_admin(database_url: str, signed_in: dict[str, Any]) -> dict[str, Any]:
    """Make a registered user what `agentpress users create --admin` makes (a platform admin whose email counts
    as verified, owner of their orgs); the sign-in answer, updated."""
    user_id = signed_in["user"]["id"]
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET role = 'admin', is_email_verified = true WHERE id = %s", [user_id])
        conn.execute("UPDATE org_members SET role = 'owner' WHERE user_id = %s", [user_id])
    signed_in["user"] |= {"role": "admin", "is_email_verified": True}
    return signed_in


def verify_email(database_url: str, email: str) -> None:
    """Mark an account's email verified, as its verification link would (tests/api/test_email_verification.py
    follows the link itself): what invitations and OAuth links need of a user."""
    with psycopg.connect(database_url) as conn:
        verified = conn.execute(
            "UPDATE users SET is_email_verified = true WHERE email = %s::citext RETURNING id", [email]
        ).fetchall()
    assert verified, f"no user has the email {email}"


def mailed_bodies(database_url: str, *, kind: str, to_email: str, count: int = 1, seconds: float = 10) -> list[str]:
    """outbox_bodies once at least `count` have been queued: mail queued off the request (password resets,
    worked through every PASSWORD_RESET_POLL_SECONDS) shows up a moment after the answer."""
    deadline = time.monotonic() + seconds
    while len(bodies := outbox_bodies(database_url, kind=kind, to_email=to_email)) < count:
        assert time.monotonic() < deadline, f"{count} {kind} mail(s) to {to_email} were not queued in {seconds} s"
        time.sleep(0.02)
    return bodies
