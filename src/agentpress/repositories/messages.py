"""Messages of a thread: keyset pages (the first one cached), and the inserts and deletes that
services.conversations runs under the thread's lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter

from agentpress.db.queries import queries
from agentpress.models.messages import Message, NewMessage
from agentpress.repositories import threads
from agentpress.web.cache import Cache
from agentpress.web.pagination import MAX_PAGE_SIZE

# The cached first page holds one more than the largest page, so that it serves every page size
# and still tells whether a next page exists.
FIRST_MESSAGES_LIMIT = MAX_PAGE_SIZE + 1
MESSAGES_ADAPTER: TypeAdapter[list[Message]] = TypeAdapter(list[Message])


async def get_thread_owner(conn: AsyncConnection[Any], *, org_id: UUID, thread_id: UUID) -> UUID | None:
    """The user whose thread it is, for a credential that acts for the whole org; None when there is none."""
    return await queries.messages.get_thread_owner.scalar(conn, UUID, org_id=org_id, thread_id=thread_id)


async def list_messages(
    conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, thread_id: UUID, limit: int
) -> list[Message]:
    """The first messages of a thread, oldest first, with `user_id`'s feedback on each."""
    return await queries.messages.list_messages.many(
        conn, Message, org_id=org_id, user_id=user_id, thread_id=thread_id, limit=limit
    )


async def list_first_messages_cached(
    conn: AsyncConnection[Any], cache: Cache, *, org_id: UUID, user_id: UUID, thread_id: UUID
) -> list[Message]:
    """The first FIRST_MESSAGES_LIMIT messages of a thread of `user_id`, cache-aside. The caller has
    checked that the thread is the user's."""
    return await cache.get_or_load(
        threads.messages_cache_key(org_id=org_id, user_id=user_id, thread_id=thread_id),
        MESSAGES_ADAPTER,
        lambda: list_messages(conn, org_id=org_id, user_id=user_id, thread_id=thread_id, limit=FIRST_MESSAGES_LIMIT),
    )


async def list_messages_after(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    user_id: UUID,
    thread_id: UUID,
    after_created_at: datetime,
    after_id: UUID,
    limit: int,
) -> list[Message]:
    """The keyset page of a thread's messages after the position (created_at, id)."""
    return await queries.messages.list_messages_after.many(
        conn,
        Message,
        org_id=org_id,
        user_id=user_id,
        thread_id=thread_id,
        after_created_at=after_created_at,
        after_id=after_id,
        limit=limit,
    )


async def create_messages(
    conn: AsyncConnection[Any], *, org_id: UUID, thread_id: UUID, messages: list[NewMessage]
) -> list[Message]:
    """Insert messages in order; call in the transaction in which add_thread_messages locked and counted
    their thread (services.conversations.append_messages)."""
    return await queries.messages.create_messages.many(
        conn,
        Message,
        org_id=org_id,
        thread_id=thread_id,
        messages=Jsonb([message.model_dump() for message in messages]),
    )


async def delete_message(conn: AsyncConnection[Any], *, org_id: UUID, thread_id: UUID, message_id: UUID) -> int:
    """Delete a message of a thread, returning how many went (0 or 1); call in the transaction that holds the
    thread's lock and counts them off (services.conversations.delete_message)."""
    return await queries.messages.delete_message.execrows(
        conn, org_id=org_id, thread_id=thread_id, message_id=message_id
    )
