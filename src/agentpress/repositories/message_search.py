"""Full-text search over the messages of a user's threads, planned afresh for every call's values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.message_search import MessageSearchResult, MessageSearchRow


@contextmanager
def _planned_per_call(conn: AsyncConnection[Any]) -> Iterator[None]:
    """Run the statements inside unprepared, so the server plans each one for its own values.

    psycopg prepares a statement after its fifth run on a connection, and the server then soon
    switches a prepared statement to its generic plan. The generic plan of the search assumes an
    average user with a thread or two, so it walks the user's threads and filters every message
    of each: 40 times slower than the full-text index for a user with 20,000 threads (measured in
    tests/sql/test_conversation_plans.py). Planning with the values picks the right path for each.
    """
    threshold = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        yield
    finally:
        conn.prepare_threshold = threshold


async def search_messages(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    user_id: UUID,
    q: str,
    thread_id: UUID | None,
    agent_id: UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[MessageSearchResult], int]:
    """One page of the user's messages in the org that match `q` (websearch syntax), best first, and the total."""
    with _planned_per_call(conn):
        rows = await queries.message_search.search_messages.many(
            conn,
            MessageSearchRow,
            org_id=org_id,
            user_id=user_id,
            q=q,
            thread_id=thread_id,
            agent_id=agent_id,
            limit=limit,
            offset=offset,
        )
        items = [MessageSearchResult.model_construct(**row.model_dump(exclude={"total"})) for row in rows]
        if rows:
            return items, rows[0].total
        if offset == 0:
            return items, 0
        # A page past the last: no row to carry the total.
        total = await queries.message_search.count_message_matches.scalar_required(
            conn, int, org_id=org_id, user_id=user_id, q=q, thread_id=thread_id, agent_id=agent_id
        )
    return items, total
