"""Who is asking: the signed-in user from the bearer token, the org they act in, and what their roles allow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency
from psycopg import AsyncConnection

from agentpress.config import Settings
from agentpress.dependencies import AppSettings, Db
from agentpress.errors import field_error, forbidden, not_found, unauthorized
from agentpress.models.orgs import OrgRole
from agentpress.models.users import SessionUser
from agentpress.repositories import orgs, sessions
from agentpress.security import hash_token

# last_seen_at is written at most this often per session, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 128
ORG_HEADER = "X-Org-Id"


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


CurrentUser = NamedDependency[SessionUser]
"""A handler parameter `current_user: CurrentUser` requires a signed-in user."""
Org = NamedDependency[OrgContext]
"""A handler parameter `org: Org` requires a signed-in user acting in an org they can see."""


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


async def provide_current_user(request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> SessionUser:
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
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


async def provide_org(request: Request[Any, Any, Any], db: Db, current_user: CurrentUser) -> OrgContext:
    """The org named by X-Org-Id, else the user's home org. Another org's id answers 404, never 403."""
    header = request.headers.get(ORG_HEADER)
    if header is not None:
        try:
            org_id = UUID(header)
        except ValueError:
            raise field_error(400, "invalid_request", ORG_HEADER, "must be an org id (a UUID)") from None
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
