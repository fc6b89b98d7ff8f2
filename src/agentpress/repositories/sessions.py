"""Sessions: bearer tokens, stored as their SHA-256 only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.users import Session, SessionUser


async def create_session(
    conn: AsyncConnection[Any],
    *,
    user_id: UUID,
    token_hash: bytes,
    expires_at: datetime,
    user_agent: str | None,
    ip: str | None,
) -> Session:
    return await queries.sessions.create_session.one_required(
        conn, Session, user_id=user_id, token_hash=token_hash, expires_at=expires_at, user_agent=user_agent, ip=ip
    )


async def get_session_user(
    conn: AsyncConnection[Any], *, token_hash: bytes, idle_timeout: timedelta
) -> SessionUser | None:
    return await queries.sessions.get_session_user.one(
        conn, SessionUser, token_hash=token_hash, idle_timeout=idle_timeout
    )


async def touch_session(conn: AsyncConnection[Any], *, session_id: UUID) -> None:
    await queries.sessions.touch_session.exec(conn, session_id=session_id)


async def list_sessions_for_user(conn: AsyncConnection[Any], *, user_id: UUID, limit: int) -> list[Session]:
    return await queries.sessions.list_sessions_for_user.many(conn, Session, user_id=user_id, limit=limit)


async def revoke_session(conn: AsyncConnection[Any], *, session_id: UUID, user_id: UUID) -> bool:
    return await queries.sessions.revoke_session.execrows(conn, session_id=session_id, user_id=user_id) == 1


async def revoke_sessions_for_user(conn: AsyncConnection[Any], *, user_id: UUID) -> int:
    return await queries.sessions.revoke_sessions_for_user.execrows(conn, user_id=user_id)


async def list_session_token_hashes_for_users(
    conn: AsyncConnection[Any], *, user_ids: list[UUID], recent: timedelta
) -> list[bytes]:
    """The token hashes of the users' sessions that the session cache may hold (see web/access.py)."""
    return await queries.sessions.list_session_token_hashes_for_users.scalar_required(
        conn, list[bytes], user_ids=user_ids, recent=recent
    )
