"""A thread's messages change under the thread's lock: a delete is one transaction that locks the thread's row
first, as an append's one statement does (repositories/messages.append_messages), so that changes of one thread
take turns and never wait on each other in a cycle."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.repositories import messages as messages_repo
from agentpress.repositories import threads


async def delete_message(
    conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, thread_id: UUID, message_id: UUID
) -> bool | None:
    """Delete a message of a thread of the user: None when there is no such thread, False when the
    thread has no such message."""
    async with conn.transaction():
        # The thread first, as appends and thread deletes take it: one lock order, no deadlock.
        if await threads.get_thread_for_update(conn, org_id=org_id, user_id=user_id, thread_id=thread_id) is None:
            return None
        deleted = await messages_repo.delete_message(conn, org_id=org_id, thread_id=thread_id, message_id=message_id)
        if deleted:
            await threads.remove_thread_messages(conn, org_id=org_id, thread_id=thread_id, count=deleted)
    return deleted > 0
