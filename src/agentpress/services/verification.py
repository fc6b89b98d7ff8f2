"""Email verification: the mailed single-use link, its confirmation, and the rules for unverified accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.models.users import User
from agentpress.repositories import email_verifications
from agentpress.services.crypto import hash_token, new_token
from agentpress.services.mail import queue_email
from agentpress.settings import Settings
from agentpress.web.errors import ApiError, field_error

# Long enough for a mail read the next day; a resend issues a fresh link.
VERIFICATION_TOKEN_TTL = timedelta(days=2)


async def queue_verification_mail(conn: AsyncConnection[Any], settings: Settings, user: User) -> None:
    """Mail the user a link that verifies their address; older links stop working. One transaction."""
    token = new_token()
    async with conn.transaction():
        await email_verifications.supersede_email_verifications(conn, user_id=user.id)
        await email_verifications.create_email_verification(
            conn,
            user_id=user.id,
            email=user.email,
            token_hash=hash_token(token),
            expires_at=datetime.now(UTC) + VERIFICATION_TOKEN_TTL,
        )
        await queue_email(
            conn,
            settings,
            kind="email_verification",
            to_email=user.email,
            subject="Verify your AgentPress email address",
            body=(
                "Welcome to AgentPress. To confirm that this address is yours, open\n"
                f"{settings.public_base_url}/verify-email?token={token}\n\n"
                f"The link works once, for {VERIFICATION_TOKEN_TTL.days} days. Until then your account cannot "
                "accept invitations or link a GitHub or Google account.\n"
                "If you did not sign up, ignore this message: nobody can use the account's address for those "
                "without it, and a password reset gives the account to whoever reads this mailbox."
            ),
        )


async def resend_verification_mail(conn: AsyncConnection[Any], settings: Settings, user: User) -> None:
    """A fresh link for a signed-in user whose address is not verified yet (409 when it is)."""
    if user.is_email_verified:
        raise ApiError(409, "conflict", "your email address is already verified")
    await queue_verification_mail(conn, settings, user)


async def confirm_email(conn: AsyncConnection[Any], *, token: str) -> UUID:
    """Spend a verification token: its user's email is verified from now on; 400 naming `token` otherwise."""
    user_id = await email_verifications.use_email_verification(conn, token_hash=hash_token(token))
    if user_id is None:
        raise field_error(400, "invalid_request", "token", "is invalid, expired, used or superseded")
    return user_id


def unverified(action: str) -> ApiError:
    """403 for what an unverified account may not do, saying why and what to do about it."""
    return ApiError(
        403,
        "email_unverified",
        f"verify your email address before you {action}: open the link we mailed you, "
        "or ask for a new one with POST /api/v1/auth/email-verifications",
    )


def require_verified(user: User, action: str) -> None:
    if not user.is_email_verified:
        raise unverified(action)
