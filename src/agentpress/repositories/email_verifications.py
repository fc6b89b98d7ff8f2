"""Email verification: single-use tokens, stored as their SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.email_verifications import EmailVerification


async def create_email_verification(
    conn: AsyncConnection[Any], *, user_id: UUID, email: str, token_hash: bytes, expires_at: datetime
) -> EmailVerification:
    return await queries.email_verifications.create_email_verification.one_required(
        conn, EmailVerification, user_id=user_id, email=email, token_hash=token_hash, expires_at=expires_at
    )


async def supersede_email_verifications(conn: AsyncConnection[Any], *, user_id: UUID) -> int:
    return await queries.email_verifications.supersede_email_verifications.execrows(conn, user_id=user_id)


async def use_email_verification(conn: AsyncConnection[Any], *, token_hash: bytes) -> UUID | None:
    """Spend the token and mark its user verified; the user, or None when the token verified nobody."""
    return await queries.email_verifications.use_email_verification.scalar(conn, UUID, token_hash=token_hash)


async def mark_email_verified(conn: AsyncConnection[Any], *, user_id: UUID, email: str) -> bool:
    """Whether the user was unverified, with this email, and now is verified."""
    return await queries.email_verifications.mark_email_verified.execrows(conn, user_id=user_id, email=email) > 0
