"""Analytics rows: the rollups by UTC day, the same counts live from the source tables, and the refresh between them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple
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


# The rows of the :copy statements, their fields the statements' columns in order (the SQL checks hold them to it).
class DailyRow(NamedTuple):
    org_id: UUID
    day: date
    agent_id: UUID | None
    threads_created: int
    user_messages: int
    assistant_messages: int
    system_messages: int
    tool_messages: int
    input_tokens: int
    output_tokens: int
    feedback_up: int
    feedback_down: int
    tasks_succeeded: int
    tasks_failed: int


class DailyUserRow(NamedTuple):
    org_id: UUID
    day: date
    agent_id: UUID | None
    user_id: UUID


class DailyToolRow(NamedTuple):
    org_id: UUID
    day: date
    tool_name: str
    calls: int
    failures: int


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
        async with queries.analytics.copy_daily.copy(cur, DailyRow) as copy:
            for row in daily:
                await copy.write_row(
                    DailyRow(
                        org_id=org_id,
                        day=row.day,
                        agent_id=row.agent_id,
                        threads_created=row.threads_created,
                        user_messages=row.user_messages,
                        assistant_messages=row.assistant_messages,
                        system_messages=row.system_messages,
                        tool_messages=row.tool_messages,
                        input_tokens=row.input_tokens,
                        output_tokens=row.output_tokens,
                        feedback_up=row.feedback_up,
                        feedback_down=row.feedback_down,
                        tasks_succeeded=row.tasks_succeeded,
                        tasks_failed=row.tasks_failed,
                    )
                )
        async with queries.analytics.copy_daily_users.copy(cur, DailyUserRow) as copy:
            for user in users:
                await copy.write_row(
                    DailyUserRow(org_id=org_id, day=user.day, agent_id=user.agent_id, user_id=user.user_id)
                )
        async with queries.analytics.copy_daily_tools.copy(cur, DailyToolRow) as copy:
            for tool in tools:
                await copy.write_row(
                    DailyToolRow(
                        org_id=org_id, day=tool.day, tool_name=tool.tool_name, calls=tool.calls, failures=tool.failures
                    )
                )


async def finish_refresh(conn: AsyncConnection[Any], *, org_id: UUID, complete_before: date) -> None:
    await queries.analytics.finish_refresh.exec(conn, org_id=org_id, complete_before=complete_before)
