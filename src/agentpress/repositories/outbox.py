"""The outbox of mail to send, and its delivery."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.outbox import EmailKind, OutboxEmail


async def create_outbox_email(
    conn: AsyncConnection[Any], *, email_id: UUID, kind: EmailKind, to_email: str, subject: str, body: bytes
) -> OutboxEmail:
    """Queue a message; `body` is the ciphertext, bound to `email_id`."""
    return await queries.outbox.create_outbox_email.one_required(
        conn, OutboxEmail, email_id=email_id, kind=kind, to_email=to_email, subject=subject, body=body
    )


async def claim_next_email(
    conn: AsyncConnection[Any], *, max_attempts: int, lease_seconds: float
) -> OutboxEmail | None:
    """Lease the message that is due longest for `lease_seconds`; a failure then sets its backoff."""
    return await queries.outbox.claim_next_email.one(
        conn, OutboxEmail, max_attempts=max_attempts, lease_seconds=lease_seconds
    )


async def mark_email_sent(conn: AsyncConnection[Any], *, email_id: UUID) -> None:
    await queries.outbox.mark_email_sent.exec(conn, email_id=email_id)


async def mark_email_failed(conn: AsyncConnection[Any], *, email_id: UUID, error: str) -> None:
    await queries.outbox.mark_email_failed.exec(conn, email_id=email_id, error=error)


async def abandon_email(conn: AsyncConnection[Any], *, email_id: UUID, error: str, max_attempts: int) -> None:
    await queries.outbox.abandon_email.exec(conn, email_id=email_id, error=error, max_attempts=max_attempts)


async def count_outbox_backlog(conn: AsyncConnection[Any], *, max_attempts: int) -> int:
    """Mail still to send: unsent, with attempts left."""
    return await queries.outbox.count_outbox_backlog.scalar_required(conn, int, max_attempts=max_attempts)
