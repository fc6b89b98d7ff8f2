"""Feedback: a user's rating of a message in one of their own threads, one per user and message."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.messages import Feedback


async def upsert_feedback(
    conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, message_id: UUID, rating: int, comment: str | None
) -> Feedback | None:
    """Rate a message of one of the user's threads (again: the new rating replaces the old); None
    when the message is not in one of their threads in the org."""
    return await queries.feedback.upsert_feedback.one(
        conn, Feedback, org_id=org_id, user_id=user_id, message_id=message_id, rating=rating, comment=comment
    )


async def delete_feedback(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, message_id: UUID) -> UUID | None:
    """Withdraw the user's feedback on a message: the message's thread id, or None when there was none."""
    return await queries.feedback.delete_feedback.scalar(
        conn, UUID, org_id=org_id, user_id=user_id, message_id=message_id
    )
