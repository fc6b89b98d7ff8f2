"""Tasks of an org and the leased queue workers take them from; org_id None (the worker command) means every org."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.tasks import ClaimedTask, Task, TaskQueueDepth, TaskStatus
from agentpress.services.crypto import hash_token


async def list_tasks(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    status: TaskStatus | None,
    agent_id: UUID | None,
    schedule_id: UUID | None,
    created_by: UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[Task], int]:
    """One page of the org's tasks and the total, newest first; a filter left None matches every task."""
    filters = {
        "org_id": org_id,
        "status": status,
        "agent_id": agent_id,
        "schedule_id": schedule_id,
        "created_by": created_by,
    }
    items = await queries.tasks.list_tasks.many(conn, Task, **filters, limit=limit, offset=offset)
    total = await queries.tasks.count_tasks.scalar_required(conn, int, **filters)
    return items, total


async def get_task(conn: AsyncConnection[Any], *, org_id: UUID, task_id: UUID) -> Task | None:
    return await queries.tasks.get_task.one(conn, Task, org_id=org_id, task_id=task_id)


async def create_task(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    agent_id: UUID,
    thread_id: UUID | None,
    input: dict[str, Any],
    priority: int,
    max_attempts: int,
    run_after: datetime | None,
    created_by: UUID | None,
    max_queued: int,
) -> Task | None:
    """The queued task; None when the org already has `max_queued` queued tasks."""
    return await queries.tasks.create_task.one(
        conn,
        Task,
        org_id=org_id,
        agent_id=agent_id,
        thread_id=thread_id,
        input=Jsonb(input),
        priority=priority,
        max_attempts=max_attempts,
        run_after=run_after,
        created_by=created_by,
        max_queued=max_queued,
    )


async def cancel_task(
    conn: AsyncConnection[Any], *, org_id: UUID, task_id: UUID, created_by: UUID | None
) -> Task | None:
    """The cancelled task; None when there is no such task (created by `created_by`, unless None) or it has finished."""
    return await queries.tasks.cancel_task.one(conn, Task, org_id=org_id, task_id=task_id, created_by=created_by)


async def claim_tasks(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID | None,
    worker_id: str,
    agent_ids: list[UUID] | None,
    limit: int,
    lease_seconds: int,
) -> list[ClaimedTask]:
    """Up to `limit` runnable tasks, now running under a fresh lease token each: first ones whose lease expired,
    then queued and due ones org by org, the least recently served org first (so no org's flood starves another)."""
    return await queries.tasks.claim_tasks.many(
        conn,
        ClaimedTask,
        org_id=org_id,
        worker_id=worker_id,
        agent_ids=agent_ids,
        limit=limit,
        lease_seconds=lease_seconds,
    )


async def heartbeat_task(
    conn: AsyncConnection[Any], *, org_id: UUID | None, task_id: UUID, lease_token: str, lease_seconds: int
) -> Task | None:
    """The task with its lease extended; None when the lease token is not (or no longer) the task's."""
    return await queries.tasks.heartbeat_task.one(
        conn,
        Task,
        org_id=org_id,
        task_id=task_id,
        lease_token_hash=hash_token(lease_token),
        lease_seconds=lease_seconds,
    )


async def complete_task(
    conn: AsyncConnection[Any], *, org_id: UUID | None, task_id: UUID, lease_token: str, output: dict[str, Any]
) -> Task | None:
    """The succeeded task; None when the lease token is not (or no longer) the task's."""
    return await queries.tasks.complete_task.one(
        conn, Task, org_id=org_id, task_id=task_id, lease_token_hash=hash_token(lease_token), output=Jsonb(output)
    )


async def fail_task(
    conn: AsyncConnection[Any], *, org_id: UUID | None, task_id: UUID, lease_token: str, error: str, retryable: bool
) -> Task | None:
    """The task queued again with a backoff, or failed for good; None when the lease token is not (or no longer)
    the task's."""
    return await queries.tasks.fail_task.one(
        conn,
        Task,
        org_id=org_id,
        task_id=task_id,
        lease_token_hash=hash_token(lease_token),
        error=error,
        retryable=retryable,
    )


async def count_tasks_in_queue(conn: AsyncConnection[Any]) -> TaskQueueDepth:
    """Queued and running tasks over every org."""
    return await queries.tasks.count_tasks_in_queue.one_required(conn, TaskQueueDepth)
