"""Analytics rows: the rollups by UTC day, the same counts live from the source tables, and the refresh between them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.analytics import (
    AgentRollup,
    BucketUsers,
    Daily,
    DailyTool,
    DailyUser,
    Granularity,
    Named,
    ToolRollup,
    UsageRollup,
    UserId,
)


async def get_complete_before(conn: AsyncConnection[Any], *, org_id: UUID) -> date | None:
    """The first day the org's rollups do not hold; None when they were never refreshed."""
    return await queries.analytics.get_complete_before.scalar(conn, date, org_id=org_id)


async def rollup_usage(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    agent_id: UUID | None,
    granularity: Granularity,
    from_day: date,
    to_day: date,
) -> list[UsageRollup]:
    return await queries.analytics.rollup_usage.many(
        conn, UsageRollup, org_id=org_id, agent_id=agent_id, granularity=granularity, from_day=from_day, to_day=to_day
    )


async def rollup_active_users(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    agent_id: UUID | None,
    granularity: Granularity,
    from_day: date,
    to_day: date,
) -> list[BucketUsers]:
    return await queries.analytics.rollup_active_users.many(
        conn, BucketUsers, org_id=org_id, agent_id=agent_id, granularity=granularity, from_day=from_day, to_day=to_day
    )


async def rollup_user_ids(
    conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID | None, from_day: date, to_day: date
) -> set[UUID]:
    rows = await queries.analytics.rollup_user_ids.many(
        conn, UserId, org_id=org_id, agent_id=agent_id, from_day=from_day, to_day=to_day
    )
    return {row.user_id for row in rows}


async def rollup_agents(conn: AsyncConnection[Any], *, org_id: UUID, from_day: date, to_day: date) -> list[AgentRollup]:
    days = {"from_day": from_day, "to_day": to_day}
    return await queries.analytics.rollup_agents.many(conn, AgentRollup, org_id=org_id, **days)


async def rollup_tools(conn: AsyncConnection[Any], *, org_id: UUID, from_day: date, to_day: date) -> list[ToolRollup]:
    return await queries.analytics.rollup_tools.many(conn, ToolRollup, org_id=org_id, from_day=from_day, to_day=to_day)


async def live_daily(conn: AsyncConnection[Any], *, org_id: UUID, since: datetime, until: datetime) -> list[Daily]:
    return await queries.analytics.live_daily.many(conn, Daily, org_id=org_id, since=since, until=until)


async def live_users(conn: AsyncConnection[Any], *, org_id: UUID, since: datetime, until: datetime) -> list[DailyUser]:
    return await queries.analytics.live_users.many(conn, DailyUser, org_id=org_id, since=since, until=until)


async def live_tools(conn: AsyncConnection[Any], *, org_id: UUID, since: datetime, until: datetime) -> list[DailyTool]:
    return await queries.analytics.live_tools.many(conn, DailyTool, org_id=org_id, since=since, until=until)


async def agent_names(conn: AsyncConnection[Any], *, org_id: UUID, agent_ids: Sequence[UUID]) -> dict[UUID, str]:
    rows = await queries.analytics.agent_names.many(conn, Named, org_id=org_id, agent_ids=list(agent_ids))
    return {row.id: row.name for row in rows}


async def tool_ids(conn: AsyncConnection[Any], *, org_id: UUID, names: Sequence[str]) -> dict[str, UUID]:
    rows = await queries.analytics.tool_ids.many(conn, Named, org_id=org_id, names=list(names))
    return {row.name: row.id for row in rows}


async def orgs_to_refresh(conn: AsyncConnection[Any], *, complete_before: date) -> list[UUID]:
    """The orgs whose rollups end before that day, or were never refreshed."""
    return await queries.analytics.orgs_to_refresh.scalar_required(conn, list[UUID], complete_before=complete_before)


async def lock_refresh(conn: AsyncConnection[Any], *, org_id: UUID) -> date | None:
    """Hold the org's refresh row until the transaction ends; how far its rollups reach (None: never refreshed)."""
    return await queries.analytics.lock_refresh.scalar(conn, date, org_id=org_id)


async def first_activity(conn: AsyncConnection[Any], *, org_id: UUID) -> datetime | None:
    return await queries.analytics.first_activity.scalar(conn, datetime, org_id=org_id)


async def replace_days(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    from_day: date,
    to_day: date,
    daily: Sequence[Daily],
    users: Sequence[DailyUser],
    tools: Sequence[DailyTool],
) -> None:
    """Replace the org's rollup rows of [from_day, to_day) with these; call inside the refresh's transaction."""
    days = {"org_id": org_id, "from_day": from_day, "to_day": to_day}
    await queries.analytics.delete_daily.execrows(conn, **days)
    await queries.analytics.delete_daily_users.execrows(conn, **days)
    await queries.analytics.delete_daily_tools.execrows(conn, **days)
    async with conn.cursor() as cur:
        async with queries.analytics.copy_daily.copy(cur) as copy:
            for daily_row in daily:
                await copy.write_row((org_id, *_daily_values(daily_row)))
        async with queries.analytics.copy_daily_users.copy(cur) as copy:
            for user in users:
                await copy.write_row((org_id, user.day, user.agent_id, user.user_id))
        async with queries.analytics.copy_daily_tools.copy(cur) as copy:
            for tool in tools:
                await copy.write_row((org_id, tool.day, tool.tool_name, tool.calls, tool.failures))


async def finish_refresh(conn: AsyncConnection[Any], *, org_id: UUID, complete_before: date) -> None:
    await queries.analytics.finish_refresh.exec(conn, org_id=org_id, complete_before=complete_before)


def _daily_values(row: Daily) -> tuple[Any, ...]:
    # In copy_daily's column order.
    return (
        row.day,
        row.agent_id,
        row.threads_created,
        row.user_messages,
        row.assistant_messages,
        row.system_messages,
        row.tool_messages,
        row.input_tokens,
        row.output_tokens,
        row.feedback_up,
        row.feedback_down,
        row.tasks_succeeded,
        row.tasks_failed,
    )
