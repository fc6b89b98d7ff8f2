"""Password resets: single-use tokens, stored as their SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.password_resets import PasswordReset, QueuedPasswordReset


async def create_password_reset(
    conn: AsyncConnection[Any], *, user_id: UUID, token_hash: bytes, expires_at: datetime
) -> PasswordReset:
    return await queries.password_resets.create_password_reset.one_required(
        conn, PasswordReset, user_id=user_id, token_hash=token_hash, expires_at=expires_at
    )


async def supersede_password_resets(conn: AsyncConnection[Any], *, user_id: UUID) -> int:
    return await queries.password_resets.supersede_password_resets.execrows(conn, user_id=user_id)


async def use_password_reset(conn: AsyncConnection[Any], *, token_hash: bytes) -> UUID | None:
    """Spend the token; the user it was for, or None when it is not live."""
    return await queries.password_resets.use_password_reset.scalar(conn, UUID, token_hash=token_hash)


async def is_password_reset_live(conn: AsyncConnection[Any], *, token_hash: bytes) -> bool:
    return await queries.password_resets.is_password_reset_live.scalar_required(conn, bool, token_hash=token_hash)


async def create_password_reset_request(conn: AsyncConnection[Any], *, email: str) -> None:
    await queries.password_resets.create_password_reset_request.exec(conn, email=email)


async def claim_password_reset_request(conn: AsyncConnection[Any]) -> QueuedPasswordReset | None:
    """The oldest queued request, deleted as it is read (held by the caller's transaction); None when none."""
    return await queries.password_resets.claim_password_reset_request.one(conn, QueuedPasswordReset)
