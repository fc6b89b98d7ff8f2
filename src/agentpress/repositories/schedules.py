"""Schedules of an org, and the scheduler's statements that turn due ones into tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.schedules import DueSchedule, Schedule, ScheduleKind


async def list_schedules(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> tuple[list[Schedule], int]:
    """One page of the org's schedules and the total, newest first."""
    items = await queries.schedules.list_schedules.many(conn, Schedule, org_id=org_id, limit=limit, offset=offset)
    total = await queries.schedules.count_schedules.scalar_required(conn, int, org_id=org_id)
    return items, total


async def get_schedule(conn: AsyncConnection[Any], *, org_id: UUID, schedule_id: UUID) -> Schedule | None:
    return await queries.schedules.get_schedule.one(conn, Schedule, org_id=org_id, schedule_id=schedule_id)


async def get_schedule_for_update(conn: AsyncConnection[Any], *, org_id: UUID, schedule_id: UUID) -> Schedule | None:
    """The schedule, locked until the caller's transaction ends."""
    return await queries.schedules.get_schedule_for_update.one(conn, Schedule, org_id=org_id, schedule_id=schedule_id)


async def create_schedule(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    agent_id: UUID,
    name: str,
    kind: ScheduleKind,
    run_at: datetime | None,
    cron: str | None,
    timezone: str | None,
    input: dict[str, Any],
    is_enabled: bool,
    next_run_at: datetime | None,
    created_by: UUID | None,
) -> Schedule:
    return await queries.schedules.create_schedule.one_required(
        conn,
        Schedule,
        org_id=org_id,
        agent_id=agent_id,
        name=name,
        kind=kind,
        run_at=run_at,
        cron=cron,
        timezone=timezone,
        input=Jsonb(input),
        is_enabled=is_enabled,
        next_run_at=next_run_at,
        created_by=created_by,
    )


async def update_schedule(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    schedule_id: UUID,
    agent_id: UUID,
    name: str,
    kind: ScheduleKind,
    run_at: datetime | None,
    cron: str | None,
    timezone: str | None,
    input: dict[str, Any],
    is_enabled: bool,
    next_run_at: datetime | None,
) -> Schedule | None:
    return await queries.schedules.update_schedule.one(
        conn,
        Schedule,
        org_id=org_id,
        schedule_id=schedule_id,
        agent_id=agent_id,
        name=name,
        kind=kind,
        run_at=run_at,
        cron=cron,
        timezone=timezone,
        input=Jsonb(input),
        is_enabled=is_enabled,
        next_run_at=next_run_at,
    )


async def delete_schedule(conn: AsyncConnection[Any], *, org_id: UUID, schedule_id: UUID) -> bool:
    """Delete a schedule of the org; False when there is none."""
    return await queries.schedules.delete_schedule.execrows(conn, org_id=org_id, schedule_id=schedule_id) > 0


async def lock_due_schedule(conn: AsyncConnection[Any]) -> DueSchedule | None:
    """The most overdue schedule no other scheduler holds, locked: call inside a transaction."""
    return await queries.schedules.lock_due_schedule.one(conn, DueSchedule)


async def fire_schedule(
    conn: AsyncConnection[Any], *, schedule_id: UUID, next_run_at: datetime | None, is_enabled: bool, max_queued: int
) -> UUID | None:
    """Queue the locked schedule's task and move the schedule on; the task's id, None when the org's queue is full."""
    return await queries.schedules.fire_schedule.scalar(
        conn, UUID, schedule_id=schedule_id, next_run_at=next_run_at, is_enabled=is_enabled, max_queued=max_queued
    )


async def disable_schedule(conn: AsyncConnection[Any], *, schedule_id: UUID) -> None:
    await queries.schedules.disable_schedule.exec(conn, schedule_id=schedule_id)
