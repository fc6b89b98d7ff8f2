"""Who is asking: the signed-in user or org API key from the bearer token, the org they act in, what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency
from psycopg import AsyncConnection

from agentpress.models.api_keys import ApiKeyScope, ServiceKey
from agentpress.models.orgs import OrgRole
from agentpress.models.users import SessionUser
from agentpress.repositories import api_keys, orgs, sessions
from agentpress.services.crypto import hash_token
from agentpress.settings import Settings
from agentpress.web.dependencies import AppSettings, Db
from agentpress.web.errors import field_error, forbidden, not_found, unauthorized

# last_seen_at (sessions) and last_used_at (API keys) are written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 128
ORG_HEADER = "X-Org-Id"
# Every API key token starts with it, and no session token can: "." is not in the URL-safe base64 alphabet of
# session tokens (security.new_token). So a token is looked up in one table only.
API_KEY_PREFIX = "apk."


@dataclass(frozen=True)
class OrgContext:
    """The org a request acts in, and the user's role there (None: a platform admin who is not a member)."""

    org_id: UUID
    role: OrgRole | None
    user: SessionUser

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage the org's members and resources; platform admins everywhere."""
        return self.user.role == "admin" or self.role in ("owner", "admin")

    def require_manager(self) -> None:
        """For changes: owners and admins (platform admins everywhere), never platform guests."""
        require_not_guest(self.user)
        if not self.can_manage:
            raise forbidden("only the org's owners and admins may do this")

    def require_writer(self) -> None:
        """Members use the org's resources; platform guests only read."""
        require_not_guest(self.user)


@dataclass(frozen=True)
class Caller:
    """Who is asking on a route that takes org API keys as well as signed-in users: a user acting in an org
    (`org`), or an org's API key (`key`); exactly one of them."""

    org_id: UUID
    org: OrgContext | None = None
    key: ServiceKey | None = None

    def require_scope(self, scope: ApiKeyScope) -> None:
        """For a key: 403 unless it was given the scope. (Users are held to their role by the route.)"""
        if self.key is not None and scope not in self.key.scopes:
            raise forbidden(f"this API key lacks the {scope} scope")


CurrentUser = NamedDependency[SessionUser]
"""A handler parameter `current_user: CurrentUser` requires a signed-in user."""
Org = NamedDependency[OrgContext]
"""A handler parameter `org: Org` requires a signed-in user acting in an org they can see."""
CallerDep = NamedDependency[Caller]
"""A handler parameter `caller: CallerDep` takes a signed-in user acting in an org, or an org API key."""


def require_not_guest(user: SessionUser) -> None:
    if user.role == "guest":
        raise forbidden("guests may read but not create or change anything")


def require_platform_admin(user: SessionUser) -> None:
    if user.role != "admin":
        raise forbidden("only platform admins may do this")


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


async def provide_current_user(request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> SessionUser:
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
    if is_api_key(token):
        # Not looked up: whether the key is live or not, it is not what this route takes.
        raise forbidden(
            "an API key is not a signed-in user: this route needs a session token; API keys are taken by the "
            "task queue and thread message routes only"
        )
    async with db.connection() as conn:
        return await authenticate(conn, settings, token)


async def authenticate(conn: AsyncConnection[Any], settings: Settings, token: str) -> SessionUser:
    """The user of a session token; 401 when it is invalid, expired, idle too long or revoked."""
    user = await sessions.get_session_user(
        conn, token_hash=hash_token(token), idle_timeout=timedelta(hours=settings.session_idle_timeout_hours)
    )
    if user is None:
        raise unauthorized("the token is invalid, expired, idle too long or revoked")
    if datetime.now(UTC) - user.session_last_seen_at > TOUCH_INTERVAL:
        await sessions.touch_session(conn, session_id=user.session_id)
    return user


async def authenticate_key(conn: AsyncConnection[Any], token: str) -> ServiceKey:
    """The org API key of a token; 401 when it is unknown, expired or revoked."""
    key = await api_keys.get_api_key_for_token(conn, token_hash=hash_token(token))
    if key is None:
        raise unauthorized("the API key is invalid, expired or revoked")
    if key.last_used_at is None or datetime.now(UTC) - key.last_used_at > TOUCH_INTERVAL:
        await api_keys.touch_api_key(conn, api_key_id=key.id)
    return key


def _named_org(request: Request[Any, Any, Any]) -> UUID | None:
    header = request.headers.get(ORG_HEADER)
    if header is None:
        return None
    try:
        return UUID(header)
    except ValueError:
        raise field_error(400, "invalid_request", ORG_HEADER, "must be an org id (a UUID)") from None


async def provide_caller(request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> Caller:
    """An org API key acting for its org (X-Org-Id may name only that one: any other is 404), or a signed-in
    user in the org named by X-Org-Id, else their home org, as `org` resolves it."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
    if not is_api_key(token):
        async with db.connection() as conn:
            user = await authenticate(conn, settings, token)
        org = await provide_org(request, db, user)
        return Caller(org_id=org.org_id, org=org)
    named = _named_org(request)
    async with db.connection() as conn:
        key = await authenticate_key(conn, token)
    if named is not None and named != key.org_id:
        raise not_found("org")
    return Caller(org_id=key.org_id, key=key)


async def provide_org(request: Request[Any, Any, Any], db: Db, current_user: CurrentUser) -> OrgContext:
    """The org named by X-Org-Id, else the user's home org. Another org's id answers 404, never 403."""
    org_id = _named_org(request)
    if org_id is not None:
        async with db.connection() as conn:
            return await org_context_for(conn, org_id=org_id, user=current_user)
    # The home org came with the session (sessions.get_session_user): no round trip of its own. It is
    # one the user belongs to, so there is always a role.
    if current_user.home_org_id is None:
        raise not_found("org")
    return OrgContext(org_id=current_user.home_org_id, role=current_user.home_org_role, user=current_user)


async def org_context_for(conn: AsyncConnection[Any], *, org_id: UUID, user: SessionUser) -> OrgContext:
    """The user's standing in an org; 404 when it does not exist or they are neither a member nor a platform admin.

    Never 403: an outsider is not told whether another org's id exists.
    """
    access = await orgs.get_org_access(conn, org_id=org_id, user_id=user.id)
    if access is None or (access.role is None and user.role != "admin"):
        raise not_found("org")
    return OrgContext(org_id=access.org_id, role=access.role, user=user)
