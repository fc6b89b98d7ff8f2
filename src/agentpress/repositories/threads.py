"""Threads of a user in an org, read through the Redis cache by id; the conversation cache keys live here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter

from agentpress.db.pools import Connect
from agentpress.db.queries import queries
from agentpress.models.threads import CountedThread, Thread
from agentpress.web.cache import Cache, cache_key

THREAD_ADAPTER: TypeAdapter[Thread | None] = TypeAdapter(Thread | None)


# The cache keys of a conversation. Threads are per user, so the keys carry the user as well as
# the org: a cached thread or message list can only be found by the user who owns it.
def thread_cache_key(*, org_id: UUID, user_id: UUID, thread_id: UUID) -> str:
    return cache_key(org_id, "thread", user_id, thread_id)


def messages_cache_key(*, org_id: UUID, user_id: UUID, thread_id: UUID) -> str:
    """The first messages of a thread, rendered (see repositories.messages.first_messages_page_cached)."""
    # "first-messages", not "messages": entries of the earlier shape (a JSON list) are never read.
    return cache_key(org_id, "first-messages", user_id, thread_id)


def conversation_cache_keys(*, org_id: UUID, user_id: UUID, thread_id: UUID) -> tuple[str, str]:
    """Every cached value of a thread: what a change of its messages or its deletion invalidates."""
    return (
        thread_cache_key(org_id=org_id, user_id=user_id, thread_id=thread_id),
        messages_cache_key(org_id=org_id, user_id=user_id, thread_id=thread_id),
    )


async def get_thread(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, thread_id: UUID) -> Thread | None:
    return await queries.threads.get_thread.one(conn, Thread, org_id=org_id, user_id=user_id, thread_id=thread_id)


async def get_thread_cached(
    connect: Connect, cache: Cache, *, org_id: UUID, user_id: UUID, thread_id: UUID
) -> Thread | None:
    """get_thread, cache-aside; a missing thread is not cached. A connection is taken on a miss only."""

    async def load() -> Thread | None:
        async with connect() as conn:
            return await get_thread(conn, org_id=org_id, user_id=user_id, thread_id=thread_id)

    thread = await cache.get_or_load(
        thread_cache_key(org_id=org_id, user_id=user_id, thread_id=thread_id), THREAD_ADAPTER, load
    )
    # The key already names org and user; checked again so that no slip elsewhere can ever hand
    # one user's thread to another.
    if thread is None or thread.org_id != org_id or thread.user_id != user_id:
        return None
    return thread


async def get_thread_for_update(
    conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, thread_id: UUID
) -> Thread | None:
    """The thread, locked until the caller's transaction ends."""
    return await queries.threads.get_thread_for_update.one(
        conn, Thread, org_id=org_id, user_id=user_id, thread_id=thread_id
    )


async def create_thread(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    user_id: UUID,
    agent_id: UUID | None,
    name: str,
    metadata: dict[str, Any],
) -> Thread:
    return await queries.threads.create_thread.one_required(
        conn, Thread, org_id=org_id, user_id=user_id, agent_id=agent_id, name=name, metadata=Jsonb(metadata)
    )


async def update_thread(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    user_id: UUID,
    thread_id: UUID,
    name: str | None,
    set_agent_id: bool,
    agent_id: UUID | None,
    is_archived: bool | None,
    metadata: dict[str, Any] | None,
) -> Thread | None:
    """Change the fields given (None keeps name, is_archived and metadata; agent_id only with set_agent_id)."""
    return await queries.threads.update_thread.one(
        conn,
        Thread,
        org_id=org_id,
        user_id=user_id,
        thread_id=thread_id,
        name=name,
        set_agent_id=set_agent_id,
        agent_id=agent_id,
        is_archived=is_archived,
        metadata=None if metadata is None else Jsonb(metadata),
    )


async def delete_thread(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, thread_id: UUID) -> bool:
    deleted = await queries.threads.delete_thread.execrows(conn, org_id=org_id, user_id=user_id, thread_id=thread_id)
    return deleted == 1


async def list_threads(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    user_id: UUID,
    agent_id: UUID | None,
    pattern: str | None,
    limit: int,
    offset: int,
) -> list[Thread]:
    """A page of the user's threads, newest first; `pattern` is a LIKE pattern on the name."""
    filters: dict[str, Any] = {"org_id": org_id, "user_id": user_id, "agent_id": agent_id}
    if pattern is None:
        return await queries.threads.list_threads.many(conn, Thread, limit=limit, offset=offset, **filters)
    # Queries of their own rather than an `OR pattern IS NULL` branch: each keeps a plain plan.
    return await queries.threads.search_threads.many(
        conn, Thread, pattern=pattern, limit=limit, offset=offset, **filters
    )


async def list_threads_with_total(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    user_id: UUID,
    agent_id: UUID | None,
    pattern: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Thread], int]:
    """list_threads and how many threads it would return in all, in one statement: each row carries the total.

    One statement rather than a pipeline of the page and its count: psycopg's pipeline mode cost a third of the
    route's CPU in process (docs/benchmarks.md, issue 21). A page past the end has no row, so it is counted alone.
    """
    filters: dict[str, Any] = {"org_id": org_id, "user_id": user_id, "agent_id": agent_id}
    page = {"limit": limit, "offset": offset}
    if pattern is None:
        rows = await queries.threads.list_threads_counted.many(conn, CountedThread, **page, **filters)
    else:
        rows = await queries.threads.search_threads_counted.many(
            conn, CountedThread, pattern=pattern, **page, **filters
        )
    if rows:
        return [*rows], rows[0].total
    if offset == 0:
        return [], 0
    if pattern is None:
        return [], await queries.threads.count_threads.scalar_required(conn, int, **filters)
    return [], await queries.threads.count_threads_matching.scalar_required(conn, int, pattern=pattern, **filters)


async def list_threads_after(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    user_id: UUID,
    agent_id: UUID | None,
    pattern: str | None,
    after_created_at: datetime,
    after_id: UUID,
    limit: int,
) -> list[Thread]:
    """The keyset page of list_threads after the position (created_at, id)."""
    filters: dict[str, Any] = {
        "org_id": org_id,
        "user_id": user_id,
        "agent_id": agent_id,
        "after_created_at": after_created_at,
        "after_id": after_id,
    }
    if pattern is None:
        return await queries.threads.list_threads_after.many(conn, Thread, limit=limit, **filters)
    return await queries.threads.search_threads_after.many(conn, Thread, pattern=pattern, limit=limit, **filters)


async def remove_thread_messages(conn: AsyncConnection[Any], *, org_id: UUID, thread_id: UUID, count: int) -> None:
    """Count off `count` deleted messages of a thread locked by get_thread_for_update, in that transaction."""
    await queries.threads.remove_thread_messages.execrows(conn, org_id=org_id, thread_id=thread_id, count=count)
