"""Signing up and signing in: the steps shared by password and OAuth sign-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request
from psycopg import AsyncConnection

from agentpress.config import Settings
from agentpress.errors import ApiError, field_error
from agentpress.mail import queue_email
from agentpress.models.orgs import OrgRole
from agentpress.models.users import SignedIn, User
from agentpress.repositories import orgs, password_resets, sessions, users
from agentpress.security import MAX_PASSWORD_LENGTH, hash_token, new_token
from agentpress.web.clients import UNKNOWN, client_ip


def check_password_rules(password: str, settings: Settings) -> None:
    if len(password) < settings.password_min_length:
        raise field_error(
            422, "invalid_value", "password", f"must be at least {settings.password_min_length} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise field_error(422, "invalid_value", "password", f"must be at most {MAX_PASSWORD_LENGTH} characters")


async def create_user_in_default_org(conn: AsyncConnection[Any], settings: Settings, **fields: Any) -> User:
    """Create a user and make them a member of the default org, both or neither.

    The first user of an empty installation becomes a platform admin and owner of the default org.
    """
    async with conn.transaction():
        default_org = await orgs.get_default_org_for_update(conn)
        is_first = not await users.has_any_user(conn)
        user = await users.create_user(conn, role="admin" if is_first else settings.default_user_role, **fields)
        if default_org is not None:
            role: OrgRole = "owner" if is_first else "member"
            await orgs.create_org_member(conn, org_id=default_org.id, user_id=user.id, role=role)
    return user


async def start_session(
    conn: AsyncConnection[Any], settings: Settings, user: User, request: Request[Any, Any, Any]
) -> SignedIn:
    """A new session for the user; the token is returned once and only its hash is kept."""
    token = new_token()
    session = await sessions.create_session(
        conn,
        user_id=user.id,
        token_hash=hash_token(token),
        expires_at=datetime.now(UTC) + timedelta(hours=settings.session_ttl_hours),
        user_agent=(request.headers.get("user-agent") or "")[:500] or None,
        ip=None if (ip := client_ip(request, settings.trusted_proxies)) == UNKNOWN else ip,
    )
    return SignedIn(token=token, expires_at=session.expires_at, user=user)


RESET_TOKEN_TTL = timedelta(hours=1)


async def request_password_reset(conn: AsyncConnection[Any], settings: Settings, email: str) -> None:
    """Mail a reset link if the account exists and is enabled; the caller answers the same either way."""
    user = await users.get_user_by_email(conn, email=email)
    if user is None or user.is_disabled:
        return
    token = new_token()
    async with conn.transaction():
        await password_resets.supersede_password_resets(conn, user_id=user.id)
        await password_resets.create_password_reset(
            conn, user_id=user.id, token_hash=hash_token(token), expires_at=datetime.now(UTC) + RESET_TOKEN_TTL
        )
        await queue_email(
            conn,
            settings,
            kind="password_reset",
            to_email=user.email,
            subject="Reset your AgentPress password",
            body=(
                "Someone asked to reset the password of your AgentPress account.\n\n"
                f"To choose a new password, open {settings.public_base_url}/reset-password?token={token}\n\n"
                "The link works once, for an hour. If you did not ask, ignore this message."
            ),
        )


async def check_reset_token(conn: AsyncConnection[Any], *, token: str) -> None:
    """400 naming `token` unless it is live: checked before the new password is hashed, so that a made-up
    token costs a lookup, not a hash. reset_password spends it, checking again."""
    if not await password_resets.is_password_reset_live(conn, token_hash=hash_token(token)):
        raise _dead_reset_token()


def _dead_reset_token() -> ApiError:
    return field_error(400, "invalid_request", "token", "is invalid, expired, used or superseded")


async def reset_password(conn: AsyncConnection[Any], *, token: str, password_hash: str) -> None:
    """Spend the token, set the password and end every session of the user, all or nothing."""
    async with conn.transaction():
        user_id = await password_resets.use_password_reset(conn, token_hash=hash_token(token))
        if user_id is None:
            raise _dead_reset_token()
        await users.update_user_password_hash(conn, user_id=user_id, password_hash=password_hash)
        await sessions.revoke_sessions_for_user(conn, user_id=user_id)
