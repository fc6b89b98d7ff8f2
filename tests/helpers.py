"""Shared test helpers: the embedded server's details, registering users and signing requests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote
from uuid import UUID

import httpx
import psycopg
import redis
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.db import embedded
from agentpress.db.pools import Connect
from agentpress.models.orgs import OrgRole, OrgWithRole
from agentpress.models.users import PlatformRole, SignedIn
from agentpress.repositories import orgs, sessions
from agentpress.services import accounts
from agentpress.services.crypto import Encryptor, hash_password, hash_token, new_token, outbox_body
from agentpress.web.cache import AUTH_EPOCH_KEY
from agentpress.web.lifespan import Resources

T = TypeVar("T")

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


@contextmanager
def serve_process(
    args: Sequence[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`agentpress serve` with `args` as a process group of its own, its stderr (the JSON log) in `log`; stopped
    at the end with SIGTERM, then SIGKILL if it has not ended within 20 s."""
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "agentpress.cli", "serve", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def holding(conn: psycopg.AsyncConnection[Any]) -> Connect:
    """A Connect (db/pools.py) that hands out this one connection: for code that takes a connection per step."""
    return lambda: nullcontext(conn)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def forget_cached_credentials(redis_url: str) -> None:
    """After a test changes users, sessions, keys or memberships in SQL, behind the service's back: the
    service sees it within SESSION_CACHE_SECONDS, and at once after this (what an operator does with
    `redis-cli INCR ap:v1:auth:epoch`, see docs/configuration.md)."""
    client = redis.Redis.from_url(redis_url)
    try:
        client.incr(AUTH_EPOCH_KEY)
    finally:
        client.close()


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


@cache
def _password_hash() -> str:
    # Once per run: People's users can sign in with PASSWORD, and no test pays for their hashes.
    return hash_password(PASSWORD)


class People(dict[str, Any]):
    """The API tests' cast, by name: people signed in, and whatever a module adds beside them (orgs, agents,
    keys). A dict, so that tests read `people["manager"]["token"]` or `people["other_org"]` and add their own.

    Always holds "client", "database_url" and "default_org" (the id of the org SIGNUP_ORG names, which
    everyone joins). People are made as the register route makes them, in the app's own pool and event loop
    but without the request: their password is PASSWORD, hashed once per run, and no verification mail is
    queued. What they get is the register answer ({token, expires_at, user}), a live session's token."""

    def __init__(self, client: TestClient[Litestar], database_url: str) -> None:
        self.client = client
        self.database_url = database_url
        self.default_org = str(self._run(_signup_org_id))
        super().__init__(client=client, database_url=database_url, default_org=self.default_org)

    def add(
        self,
        name: str,
        *,
        org_role: OrgRole | None = None,
        platform_role: PlatformRole = "user",
        email: str | None = None,
    ) -> dict[str, Any]:
        """Sign `name` up (as name@example.com unless `email` says otherwise) and store their sign-in answer under
        `name`. They join the default org as a member, or with `org_role`. A platform admin owns it and counts
        as verified, as `agentpress users create --admin` makes one (see make_platform_admin)."""
        email = email or f"{name}@example.com"
        signed_in = self._run(_sign_up, email, platform_role, org_role, UUID(self.default_org), _password_hash())
        self[name] = signed_in.model_dump(mode="json")
        answer: dict[str, Any] = self[name]
        return answer

    def org(self, name: str, *, owner: str, slug: str | None = None) -> dict[str, Any]:
        """An org `owner` creates (POST /orgs makes the same rows), slugged from its name: its answer, with id."""
        created = self._run(_create_org, name, slug or name.lower(), UUID(self[owner]["user"]["id"]))
        return created.model_dump(mode="json")

    def agent(self, who: str, org_id: str | None = None, name: str = "Agent") -> str:
        """The id of an agent `who` creates through the API, in their home org or in `org_id`."""
        response = self.client.post("/api/v1/agents", json={"name": name}, headers=self.headers(who, org_id))
        assert response.status_code == 201, response.text
        agent_id: str = response.json()["id"]
        return agent_id

    def api_key(
        self, who: str, scopes: Sequence[str], org_id: str | None = None, name: str = "worker"
    ) -> dict[str, str]:
        """The headers that sign with a new API key `who` (an owner or admin) makes, as helpers.api_key."""
        return api_key(self.client, self.headers(who, org_id), scopes, name)

    def headers(self, who: str, org_id: str | None = None) -> dict[str, str]:
        """`who`'s bearer token, acting in their home org or in `org_id`."""
        return headers(self, who, org_id)

    def _run(self, work: Callable[..., Awaitable[T]], *args: object) -> T:
        # In the app's event loop (the test client's portal), with its pool and settings: the rows are the ones
        # its own code writes, and no second pool or loop is started per test.
        resources: Resources = self.client.app.state.resources
        return self.client.blocking_portal.call(work, resources, *args)


async def _signup_org_id(resources: Resources) -> UUID:
    async with resources.pool.connection() as conn:
        org = await accounts.signup_org(conn, resources.settings)
    assert org is not None, "People join the org SIGNUP_ORG names: the test settings name one"
    return org.id


async def _sign_up(
    resources: Resources,
    email: str,
    platform_role: PlatformRole,
    org_role: OrgRole | None,
    org_id: UUID,
    password_hash: str,
) -> SignedIn:
    """What POST /auth/register does once the password is hashed (account, then session, in one transaction),
    less the verification mail; and the org role a test wants, set before anyone signs in with it."""
    settings = resources.settings
    async with resources.pool.connection() as conn, conn.transaction():
        user = await accounts.create_account(
            conn,
            settings,
            platform_role=platform_role,
            email=email,
            password_hash=password_hash,
            is_email_verified=platform_role == "admin",
        )
        if org_role is not None:
            changed = await orgs.update_org_member_role(conn, org_id=org_id, user_id=user.id, role=org_role)
            assert changed is not None
        token = new_token()
        session = await sessions.create_session(
            conn,
            user_id=user.id,
            token_hash=hash_token(token),
            expires_at=datetime.now(UTC) + timedelta(hours=settings.session_ttl_hours),
            user_agent=None,
            ip=None,
        )
    return SignedIn(token=token, expires_at=session.expires_at, user=user)


async def _create_org(resources: Resources, name: str, slug: str, owner_id: UUID) -> OrgWithRole:
    async with resources.pool.connection() as conn:
        return await orgs.create_org_with_owner(conn, name=name, slug=slug, owner_id=owner_id)
