"""Analytics reports (the rollup for closed days plus a live count after them) and the refresh that fills the rollup."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agentpress.models.analytics import (
    AgentsReport,
    AgentUsage,
    Daily,
    Granularity,
    MessageCounts,
    ToolsReport,
    ToolUsage,
    UsageBucket,
    UsageReport,
)
from agentpress.repositories import analytics
from agentpress.services.polling import poll
from agentpress.settings import Settings

log = logging.getLogger("agentpress.services.reporting")

# A day counts as closed this long after midnight UTC: a transaction that wrote a message at
# 23:59:59 and commits a moment later is still seen by the refresh that closes the day.
CLOSE_DELAY = timedelta(minutes=5)
ONE_DAY = timedelta(days=1)
COUNTERS = ("user_messages", "assistant_messages", "system_messages", "tool_messages", "input_tokens", "output_tokens")


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of the day."""
    return datetime.combine(day, time(), tzinfo=UTC)


def closed_before(now: datetime) -> date:
    """The first day that is not closed yet: the refresh rolls up the days before it."""
    return (now.astimezone(UTC) - CLOSE_DELAY).date()


def bucket_of(day: date, granularity: Granularity) -> date:
    """The first day of the day's bucket, as date_trunc has it: the day, its week's Monday, its month's 1st."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def buckets(from_day: date, to_day: date, granularity: Granularity) -> Iterator[date]:
    """The first day of every bucket that meets [from_day, to_day] (both included)."""
    bucket = bucket_of(from_day, granularity)
    while bucket <= to_day:
        yield bucket
        if granularity == "month":
            bucket = (bucket.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            bucket += timedelta(days=7 if granularity == "week" else 1)


@dataclass(frozen=True)
class Split:
    """A report's days [from_day, end): [from_day, live_from) from the rollup, [live_from, end) counted live."""

    from_day: date
    live_from: date
    end: date

    @property
    def has_rollup(self) -> bool:
        return self.from_day < self.live_from

    @property
    def has_live(self) -> bool:
        return self.live_from < self.end


async def _split(conn: AsyncConnection[Any], *, org_id: UUID, from_day: date, to_day: date) -> Split:
    complete_before = await analytics.get_complete_before(conn, org_id=org_id) or from_day
    end = to_day + ONE_DAY
    return Split(from_day, min(max(complete_before, from_day), end), end)


def _add(total: Any, row: Any, names: Iterable[str]) -> None:
    for name in names:
        setattr(total, name, getattr(total, name) + getattr(row, name))


async def usage_report(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    from_day: date,
    to_day: date,
    granularity: Granularity,
    agent_id: UUID | None,
) -> UsageReport:
    """Threads created, messages by role, tokens and active users per bucket of [from_day, to_day]."""
    split = await _split(conn, org_id=org_id, from_day=from_day, to_day=to_day)
    report = {bucket: UsageBucket(bucket=bucket) for bucket in buckets(from_day, to_day, granularity)}
    if split.has_rollup:
        rollup = await analytics.rollup_usage(
            conn,
            org_id=org_id,
            agent_id=agent_id,
            granularity=granularity,
            from_day=split.from_day,
            to_day=split.live_from,
        )
        for summed in rollup:
            _add(report[summed.bucket], summed, (*COUNTERS, "threads_created"))
        active = await analytics.rollup_active_users(
            conn,
            org_id=org_id,
            agent_id=agent_id,
            granularity=granularity,
            from_day=split.from_day,
            to_day=split.live_from,
        )
        for users in active:
            report[users.bucket].active_users = users.active_users
    if split.has_live:
        since, until = day_start(split.live_from), day_start(split.end)
        for daily in await analytics.live_daily(conn, org_id=org_id, since=since, until=until):
            if agent_id is None or daily.agent_id == agent_id:
                _add(report[bucket_of(daily.day, granularity)], daily, (*COUNTERS, "threads_created"))
        live_users: dict[date, set[UUID]] = defaultdict(set)
        for user in await analytics.live_users(conn, org_id=org_id, since=since, until=until):
            if agent_id is None or user.agent_id == agent_id:
                live_users[bucket_of(user.day, granularity)].add(user.user_id)
        # The bucket where the rollup ends and the live count starts: its users are a union, not a sum.
        shared = bucket_of(split.live_from, granularity)
        if split.has_rollup and shared < split.live_from and shared in live_users:
            live_users[shared] |= await analytics.rollup_user_ids(
                conn, org_id=org_id, agent_id=agent_id, from_day=max(shared, split.from_day), to_day=split.live_from
            )
        for bucket, users_of_bucket in live_users.items():
            report[bucket].active_users = len(users_of_bucket)
    for usage in report.values():
        usage.messages = _messages(usage)
    return UsageReport(
        from_=from_day, to=to_day, granularity=granularity, agent_id=agent_id, buckets=list(report.values())
    )


def _messages(counts: MessageCounts) -> int:
    return counts.user_messages + counts.assistant_messages + counts.system_messages + counts.tool_messages


async def agents_report(conn: AsyncConnection[Any], *, org_id: UUID, from_day: date, to_day: date) -> AgentsReport:
    """Per agent with activity in [from_day, to_day]: threads, messages, feedback, tasks and tokens."""
    split = await _split(conn, org_id=org_id, from_day=from_day, to_day=to_day)
    fields = (*COUNTERS, "threads_created", "feedback_up", "feedback_down", "tasks_succeeded", "tasks_failed")
    totals: dict[UUID | None, AgentUsage] = {}

    def total(agent_id: UUID | None) -> AgentUsage:
        return totals.setdefault(agent_id, AgentUsage(agent_id=agent_id, agent_name=None))

    if split.has_rollup:
        for row in await analytics.rollup_agents(conn, org_id=org_id, from_day=split.from_day, to_day=split.live_from):
            _add(total(row.agent_id), row, fields)
    if split.has_live:
        since, until = day_start(split.live_from), day_start(split.end)
        live: list[Daily] = await analytics.live_daily(conn, org_id=org_id, since=since, until=until)
        for daily in live:
            _add(total(daily.agent_id), daily, fields)
    names = await analytics.agent_names(conn, org_id=org_id, agent_ids=[key for key in totals if key is not None])
    for agent in totals.values():
        agent.agent_name = names.get(agent.agent_id) if agent.agent_id else None
        agent.messages = _messages(agent)
        agent.avg_messages_per_thread = agent.messages / agent.threads_created if agent.threads_created else None
        rated = agent.feedback_up + agent.feedback_down
        agent.feedback_ratio = agent.feedback_up / rated if rated else None
    ordered = sorted(
        totals.values(), key=lambda a: (-a.messages, -a.threads_created, a.agent_name or "", str(a.agent_id))
    )
    return AgentsReport(from_=from_day, to=to_day, agents=ordered)


async def tools_report(conn: AsyncConnection[Any], *, org_id: UUID, from_day: date, to_day: date) -> ToolsReport:
    """Per tool name called in [from_day, to_day]: calls and the results that reported an error."""
    split = await _split(conn, org_id=org_id, from_day=from_day, to_day=to_day)
    calls: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    if split.has_rollup:
        for row in await analytics.rollup_tools(conn, org_id=org_id, from_day=split.from_day, to_day=split.live_from):
            calls[row.tool_name][0] += row.calls
            calls[row.tool_name][1] += row.failures
    if split.has_live:
        since, until = day_start(split.live_from), day_start(split.end)
        for tool in await analytics.live_tools(conn, org_id=org_id, since=since, until=until):
            calls[tool.tool_name][0] += tool.calls
            calls[tool.tool_name][1] += tool.failures
    ids = await analytics.tool_ids(conn, org_id=org_id, names=list(calls))
    tools = [
        ToolUsage(tool_name=name, tool_id=ids.get(name), calls=count, failures=failures)
        for name, (count, failures) in calls.items()
    ]
    return ToolsReport(from_=from_day, to=to_day, tools=sorted(tools, key=lambda t: (-t.calls, t.tool_name)))


@dataclass(frozen=True)
class Refreshed:
    """What one org's refresh rolled up: the days [from_day, to_day)."""

    org_id: UUID
    from_day: date
    to_day: date

    @property
    def days(self) -> int:
        return (self.to_day - self.from_day).days


async def refresh_org(
    conn: AsyncConnection[Any], *, org_id: UUID, now: datetime, recount_days: int = 1, full: bool = False
) -> Refreshed:
    """Roll up the org's closed days that the rollup does not hold, and recount the last `recount_days` it
    does (late writes: deletions, transactions that committed after the day closed); `full` rebuilds
    from the org's first activity. One transaction: reports see the old rollup or the new one."""
    to_day = closed_before(now)
    async with conn.transaction():
        complete_before = await analytics.lock_refresh(conn, org_id=org_id)
        if complete_before is None or full:
            first = await analytics.first_activity(conn, org_id=org_id)
            from_day = min(first.astimezone(UTC).date(), to_day) if first else to_day
        else:
            from_day = min(complete_before - timedelta(days=recount_days), to_day)
        if from_day < to_day:
            since, until = day_start(from_day), day_start(to_day)
            await analytics.replace_days(
                conn,
                org_id=org_id,
                from_day=from_day,
                to_day=to_day,
                daily=await analytics.live_daily(conn, org_id=org_id, since=since, until=until),
                users=await analytics.live_users(conn, org_id=org_id, since=since, until=until),
                tools=await analytics.live_tools(conn, org_id=org_id, since=since, until=until),
            )
        await analytics.finish_refresh(conn, org_id=org_id, complete_before=max(to_day, complete_before or to_day))
    return Refreshed(org_id, from_day, to_day)


async def refresh_due(conn: AsyncConnection[Any], *, now: datetime) -> list[Refreshed]:
    """Refresh every org whose rollup does not reach the last closed day, one transaction per org."""
    org_ids = await analytics.orgs_to_refresh(conn, complete_before=closed_before(now))
    return [await refresh_org(conn, org_id=org_id, now=now) for org_id in org_ids]


async def run_refresh_loop(pool: AsyncConnectionPool[Any], settings: Settings) -> None:
    """Refresh the orgs that have a newly closed day every ANALYTICS_REFRESH_SECONDS until cancelled. Reports
    stay right while it fails (they count the days it has not rolled up live), only slower."""

    async def refresh() -> bool:
        async with pool.connection() as conn:
            refreshed = await refresh_due(conn, now=datetime.now(UTC))
        if refreshed:
            log.info("analytics rolled up %d org(s)", len(refreshed), extra={"orgs": len(refreshed)})
        return False

    await poll("analytics refresh", refresh, every=settings.analytics_refresh_seconds, log=log)
