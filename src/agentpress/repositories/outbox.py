"""The outbox of mail to send, and its delivery."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.models.outbox import EmailKind, OutboxEmail
from agentpress.queries import queries


async def create_outbox_email(
    conn: AsyncConnection[Any], *, kind: EmailKind, to_email: str, subject: str, body: bytes
) -> OutboxEmail:
    email = await queries.outbox.create_outbox_email.one(
        conn, OutboxEmail, kind=kind, to_email=to_email, subject=subject, body=body
    )
    assert email is not None
    return email


async def claim_unsent_emails(conn: AsyncConnection[Any], *, limit: int, max_attempts: int) -> list[OutboxEmail]:
    """Lock and return the oldest unsent messages; call inside a transaction."""
    return await queries.outbox.claim_unsent_emails.many(conn, OutboxEmail, limit=limit, max_attempts=max_attempts)


async def mark_email_sent(conn: AsyncConnection[Any], *, email_id: UUID) -> None:
    await queries.outbox.mark_email_sent.exec(conn, email_id=email_id)


async def mark_email_failed(conn: AsyncConnection[Any], *, email_id: UUID, error: str) -> None:
    await queries.outbox.mark_email_failed.exec(conn, email_id=email_id, error=error)
