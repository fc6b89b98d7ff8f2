"""Messages of a thread: keyset pages (the first one cached, rendered), and the inserts and deletes that
services.conversations runs under the thread's lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter

from agentpress.db.pools import Connect
from agentpress.db.queries import queries
from agentpress.models.messages import Message, NewMessage
from agentpress.repositories import threads
from agentpress.web.cache import RAW, Cache
from agentpress.web.pagination import MAX_PAGE_SIZE, encode_cursor

# The cached first page holds one more than the largest page, so that it serves every page size
# and still tells whether a next page exists.
FIRST_MESSAGES_LIMIT = MAX_PAGE_SIZE + 1
MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)


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


def message_cursor(message: Message) -> str:
    """The keyset cursor of the page that starts after `message` (api/threads.py's _keyset_page makes the same)."""
    return encode_cursor({"created_at": message.created_at.isoformat(), "id": str(message.id)})


def render_messages(items: list[Message]) -> bytes:
    """The first messages as cached: one line each, its cursor, a tab, its JSON (JSON has no raw newline)."""
    return b"\n".join(message_cursor(m).encode() + b"\t" + MESSAGE_ADAPTER.dump_json(m) for m in items)


def page_from_rendered(rendered: bytes, page_size: int) -> bytes:
    """The JSON of a CursorPage[Message] of the first page_size messages, cut from render_messages's bytes
    without parsing any: what a cached first page costs per request, whatever its size."""
    lines = rendered.split(b"\n", page_size + 1)[: page_size + 1] if rendered else []
    page = lines[:page_size]
    next_cursor = b'"' + page[-1].partition(b"\t")[0] + b'"' if len(lines) > page_size else b"null"
    items = b",".join(line.partition(b"\t")[2] for line in page)
    return b'{"items":[' + items + b'],"next_cursor":' + next_cursor + b"}"


async def first_messages_page_cached(
    connect: Connect, cache: Cache, *, org_id: UUID, user_id: UUID, thread_id: UUID, page_size: int
) -> bytes:
    """The first page of a thread of `user_id`, page_size messages, as the JSON of a CursorPage[Message].

    The cache holds the first FIRST_MESSAGES_LIMIT messages rendered once (render_messages), so that every
    page size is served from one entry, which every write of the thread invalidates. A hit costs a Redis GET
    and a cut of bytes; it used to parse and validate all 101 messages to return 50 or 20 (bench/scenarios/
    http.py's messages-first-page row). The caller has checked that the thread is the user's.
    """

    async def load() -> bytes:
        # A pool connection on a miss only: a hit holds none.
        async with connect() as conn:
            items = await list_messages(
                conn, org_id=org_id, user_id=user_id, thread_id=thread_id, limit=FIRST_MESSAGES_LIMIT
            )
        return render_messages(items)

    rendered = await cache.get_or_load(
        threads.messages_cache_key(org_id=org_id, user_id=user_id, thread_id=thread_id), RAW, load
    )
    return page_from_rendered(rendered, page_size)


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


async def append_messages(
    conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, thread_id: UUID, messages: list[NewMessage]
) -> list[Message] | None:
    """Append messages to a thread of the user, all or none, in order, in one statement (see append_messages in
    messages.sql: the thread's row lock makes appends to one thread take turns); None when there is no such
    thread. `messages` is never empty (MessagesAppend requires one)."""
    created = await queries.messages.append_messages.many(
        conn,
        Message,
        org_id=org_id,
        user_id=user_id,
        thread_id=thread_id,
        messages=Jsonb([message.model_dump() for message in messages]),
    )
    return created or None


async def delete_message(conn: AsyncConnection[Any], *, org_id: UUID, thread_id: UUID, message_id: UUID) -> int:
    """Delete a message of a thread, returning how many went (0 or 1); call in the transaction that holds the
    thread's lock and counts them off (services.conversations.delete_message)."""
    return await queries.messages.delete_message.execrows(
        conn, org_id=org_id, thread_id=thread_id, message_id=message_id
    )
