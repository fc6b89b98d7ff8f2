"""Accounts: signing up and signing in (the steps shared by password and OAuth sign-in), password resets, and
the platform role and access an admin changes."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import anyio
import psycopg
from litestar import Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agentpress.models.orgs import Org, OrgRole
from agentpress.models.users import PlatformRole, SignedIn, User
from agentpress.repositories import email_verifications, orgs, password_resets, sessions, users
from agentpress.repositories import oauth as oauth_repo
from agentpress.services.crypto import MAX_PASSWORD_LENGTH, hash_password, hash_token, new_token
from agentpress.services.mail import queue_email
from agentpress.services.verification import queue_verification_mail
from agentpress.settings import Settings
from agentpress.web.clients import UNKNOWN, client_ip
from agentpress.web.errors import ApiError, field_error, not_found

log = logging.getLogger("agentpress.services.accounts")


def check_password_rules(password: str, settings: Settings) -> None:
    if len(password) < settings.password_min_length:
        raise field_error(
            422, "invalid_value", "password", f"must be at least {settings.password_min_length} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise field_error(422, "invalid_value", "password", f"must be at most {MAX_PASSWORD_LENGTH} characters")


async def create_account(
    conn: AsyncConnection[Any], settings: Settings, *, platform_role: PlatformRole | None = None, **fields: Any
) -> User:
    """Create a user with their first org, both or neither.

    Nobody becomes a platform admin by coming first: admins are made by the operator (`agentpress users
    create --admin`, or BOOTSTRAP_ADMIN_EMAIL). A new user owns a personal org of their own, unless
    SIGNUP_ORG names a shared org, which they join as a member (an admin the operator creates, as an owner).
    """
    async with conn.transaction():
        user = await users.create_user(conn, role=platform_role or settings.default_user_role, **fields)
        shared = await signup_org(conn, settings)
        if shared is not None:
            role: OrgRole = "owner" if platform_role == "admin" else "member"
            await orgs.create_org_member(conn, org_id=shared.id, user_id=user.id, role=role)
        else:
            slug = f"personal-{secrets.token_hex(6)}"  # 48 random bits: a collision is not worth a retry
            await orgs.create_org_with_owner(conn, name=_personal_org_name(user), slug=slug, owner_id=user.id)
    return user


async def signup_org(conn: AsyncConnection[Any], settings: Settings) -> Org | None:
    """The shared org SIGNUP_ORG names, or None when new users get an org of their own.

    Startup refuses to serve when the named org does not exist (bootstrap_accounts): this never guesses.
    """
    if settings.signup_org is None:
        return None
    org = await orgs.get_org_by_slug(conn, slug=settings.signup_org)
    if org is None:
        raise SignupOrgMissing(f"SIGNUP_ORG is {settings.signup_org!r}, but no org has that slug")
    return org


class SignupOrgMissing(Exception):
    """SIGNUP_ORG names an org that does not exist: startup refuses to serve rather than guess."""


async def create_admin(conn: AsyncConnection[Any], settings: Settings, *, email: str, password_hash: str) -> User:
    """A platform admin made by the operator, who vouches for the address: it counts as verified."""
    return await create_account(
        conn, settings, platform_role="admin", email=email, password_hash=password_hash, is_email_verified=True
    )


async def bootstrap_accounts(pool: AsyncConnectionPool[Any], settings: Settings) -> None:
    """At startup: check SIGNUP_ORG, and create BOOTSTRAP_ADMIN_EMAIL's admin unless that email has an account."""
    async with pool.connection() as conn:
        await signup_org(conn, settings)
        email, password = settings.bootstrap_admin_email, settings.bootstrap_admin_password
        if email is None or password is None or await users.get_user_by_email(conn, email=email) is not None:
            return
    # Off the event loop and with no connection held: a hash is a tenth of a second of CPU.
    password_hash = await anyio.to_thread.run_sync(hash_password, password.get_secret_value())
    try:
        async with pool.connection() as conn:
            await create_admin(conn, settings, email=email, password_hash=password_hash)
        log.warning("created the platform admin %s from BOOTSTRAP_ADMIN_EMAIL", email)
    except psycopg.errors.UniqueViolation:
        pass  # another process of the deployment created it first


async def sign_up(
    conn: AsyncConnection[Any],
    settings: Settings,
    request: Request[Any, Any, Any],
    *,
    email: str,
    password_hash: str,
    username: str | None,
    first_name: str | None,
    last_name: str | None,
) -> SignedIn:
    """Sign up with a password: the account, its verification mail and its first session together, so that a
    failure leaves nothing to collide with on a retry."""
    async with conn.transaction():
        user = await create_account(
            conn,
            settings,
            email=email,
            password_hash=password_hash,
            username=username,
            first_name=first_name,
            last_name=last_name,
        )
        await queue_verification_mail(conn, settings, user)
        return await start_session(conn, settings, user, request)


def _personal_org_name(user: User) -> str:
    # Not the email: the org's name is shown to whoever the owner invites, and emails are not.
    who = user.display_name or user.first_name or user.username
    return f"{who}'s org"[:200] if who else "Personal"


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
    """Queue a reset request: one and the same statement whether or not the address has an account, so that
    neither the answer nor the work done before it tells them apart. send_password_reset does the rest off
    the request (services.reset_requests)."""
    await password_resets.create_password_reset_request(conn, email=email)


async def send_password_reset(conn: AsyncConnection[Any], settings: Settings, email: str) -> bool:
    """Mail a reset link if the account exists and is enabled; whether one was mailed."""
    user = await users.get_user_by_email(conn, email=email)
    if user is None or user.is_disabled:
        return False
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
    return True


async def check_reset_token(conn: AsyncConnection[Any], *, token: str) -> None:
    """400 naming `token` unless it is live: checked before the new password is hashed, so that a made-up
    token costs a lookup, not a hash. reset_password spends it, checking again."""
    if not await password_resets.is_password_reset_live(conn, token_hash=hash_token(token)):
        raise _dead_reset_token()


def _dead_reset_token() -> ApiError:
    return field_error(400, "invalid_request", "token", "is invalid, expired, used or superseded")


async def reset_password(conn: AsyncConnection[Any], *, token: str, password_hash: str) -> UUID:
    """Spend the token, set the password and end every session of the user, all or nothing; the user's id.

    The link reached the account's mailbox, so whoever opened it holds the address: the email is verified
    from now on, and what was linked to the account before it was verified goes (OAuth links and links in
    flight): someone who registered another's address could have linked their own GitHub to it.
    """
    async with conn.transaction():
        user_id = await password_resets.use_password_reset(conn, token_hash=hash_token(token))
        if user_id is None:
            raise _dead_reset_token()
        await users.update_user_password_hash(conn, user_id=user_id, password_hash=password_hash)
        await sessions.revoke_sessions_for_user(conn, user_id=user_id)
        await oauth_repo.delete_unverified_oauth_links(conn, user_id=user_id)
        await oauth_repo.delete_oauth_states_for_user(conn, user_id=user_id)
        user = await users.get_user(conn, user_id=user_id)
        if user is not None:
            await email_verifications.mark_email_verified(conn, user_id=user_id, email=user.email)
    return user_id


async def change_platform_access(
    conn: AsyncConnection[Any], admin: User, *, user_id: UUID, role: PlatformRole | None, is_disabled: bool | None
) -> User:
    """A platform admin changes a user's platform role or disables them (their sessions end with it), both or
    neither; fields left as None stay as they are."""
    if user_id == admin.id and (is_disabled or role not in (None, "admin")):
        # Otherwise the last admin could lock everyone out of administration.
        raise ApiError(409, "conflict", "admins cannot demote or disable themselves")
    async with conn.transaction():
        user = await users.update_user_admin_fields(conn, user_id=user_id, role=role, is_disabled=is_disabled)
        if user is None:
            raise not_found("user")
        if user.is_disabled:
            await sessions.revoke_sessions_for_user(conn, user_id=user.id)
    return user
