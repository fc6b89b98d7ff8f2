"""Analytics on 200,000 messages over 90 days (seed_analytics.sql): the reports, from the rollup and a live
count after it, agree with a full recount from the source tables; and a long range reads only the rollup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from helpers import holding_lock

from agentpress.db.queries import queries
from agentpress.models.analytics import Granularity
from agentpress.services.reporting import agents_report, refresh_org, tools_report, usage_report

pytestmark = pytest.mark.anyio

SEED = Path(__file__).with_name("seed_analytics.sql")
FIRST, LAST = date(2026, 1, 1), date(2026, 3, 31)
# A refresh on 20 March rolls up to the 19th: the reports below then read both parts.
MID_MARCH = datetime(2026, 3, 20, 12, tzinfo=UTC)
APRIL = datetime(2026, 4, 5, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(database_url_module: str) -> Iterator[tuple[str, list[UUID]]]:
    with psycopg.connect(database_url_module, autocommit=True) as conn:
        conn.execute(SEED.read_text())
        conn.execute("VACUUM (ANALYZE) threads, messages, feedback, tasks")
        rows = conn.execute("SELECT id FROM orgs WHERE slug LIKE 'analytics-%' ORDER BY slug").fetchall()
        (messages,) = conn.execute("SELECT count(*) FROM messages").fetchone()  # type: ignore[misc]
        assert messages == 200_000
    yield database_url_module, [org_id for (org_id,) in rows]


async def connect(url: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def refresh(url: str, org_ids: list[UUID], now: datetime, *, full: bool = False) -> None:
    async with await connect(url) as conn:
        for org_id in org_ids:
            await refresh_org(conn, org_id=org_id, now=now, full=full)


def bounds(from_day: date, to_day: date) -> dict[str, datetime]:
    return {
        "since": datetime.combine(from_day, datetime.min.time(), tzinfo=UTC),
        "until": datetime.combine(to_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
    }


# The recount: straight from the source tables, per bucket or agent or tool, without days in between.
RECOUNT_USAGE = """
SELECT date_trunc(%(g)s, m.created_at AT TIME ZONE 'UTC')::date AS bucket,
       count(*) FILTER (WHERE m.role = 'user'), count(*) FILTER (WHERE m.role = 'assistant'),
       count(*) FILTER (WHERE m.role = 'system'), count(*) FILTER (WHERE m.role = 'tool'),
       coalesce(sum(m.input_tokens), 0), coalesce(sum(m.output_tokens), 0),
       count(DISTINCT t.user_id) FILTER (WHERE m.role = 'user')
FROM messages AS m JOIN threads AS t ON t.id = m.thread_id
WHERE m.org_id = %(org)s AND m.created_at >= %(since)s AND m.created_at < %(until)s
  AND (%(agent)s::uuid IS NULL OR t.agent_id = %(agent)s::uuid)
GROUP BY 1
"""
RECOUNT_THREADS = """
SELECT date_trunc(%(g)s, created_at AT TIME ZONE 'UTC')::date, count(*)
FROM threads
WHERE org_id = %(org)s AND created_at >= %(since)s AND created_at < %(until)s
  AND (%(agent)s::uuid IS NULL OR agent_id = %(agent)s::uuid)
GROUP BY 1
"""
RECOUNT_AGENTS = """
SELECT a.agent_id, coalesce(th.n, 0), coalesce(ms.users, 0), coalesce(ms.assistants, 0), coalesce(ms.systems, 0),
       coalesce(ms.tools, 0), coalesce(ms.input, 0), coalesce(ms.output, 0), coalesce(fb.up, 0), coalesce(fb.down, 0),
       coalesce(tk.ok, 0), coalesce(tk.failed, 0)
FROM (SELECT DISTINCT agent_id FROM threads WHERE org_id = %(org)s
      UNION SELECT DISTINCT agent_id FROM tasks WHERE org_id = %(org)s) AS a
LEFT JOIN (SELECT agent_id, count(*) AS n FROM threads
           WHERE org_id = %(org)s AND created_at >= %(since)s AND created_at < %(until)s GROUP BY 1) AS th
    ON th.agent_id IS NOT DISTINCT FROM a.agent_id
LEFT JOIN (SELECT t.agent_id, count(*) FILTER (WHERE role = 'user') AS users,
                  count(*) FILTER (WHERE role = 'assistant') AS assistants,
                  count(*) FILTER (WHERE role = 'system') AS systems, count(*) FILTER (WHERE role = 'tool') AS tools,
                  sum(input_tokens) AS input, sum(output_tokens) AS output
           FROM messages AS m JOIN threads AS t ON t.id = m.thread_id
           WHERE m.org_id = %(org)s AND m.created_at >= %(since)s AND m.created_at < %(until)s GROUP BY 1) AS ms
    ON ms.agent_id IS NOT DISTINCT FROM a.agent_id
LEFT JOIN (SELECT t.agent_id, count(*) FILTER (WHERE rating = 1) AS up, count(*) FILTER (WHERE rating = -1) AS down
           FROM feedback AS f JOIN messages AS m ON m.id = f.message_id JOIN threads AS t ON t.id = m.thread_id
           WHERE f.org_id = %(org)s AND f.updated_at >= %(since)s AND f.updated_at < %(until)s GROUP BY 1) AS fb
    ON fb.agent_id IS NOT DISTINCT FROM a.agent_id
LEFT JOIN (SELECT agent_id, count(*) FILTER (WHERE status = 'succeeded') AS ok,
                  count(*) FILTER (WHERE status = 'failed') AS failed
           FROM tasks WHERE org_id = %(org)s AND finished_at >= %(since)s AND finished_at < %(until)s GROUP BY 1) AS tk
    ON tk.agent_id IS NOT DISTINCT FROM a.agent_id
"""
RECOUNT_TOOLS = """
SELECT part ->> 'tool_name', count(*) FILTER (WHERE part ->> 'type' = 'tool_call'),
       count(*) FILTER (WHERE part ->> 'type' = 'tool_result' AND (part ->> 'is_error')::boolean)
FROM messages, jsonb_array_elements(parts) AS part
WHERE org_id = %(org)s AND created_at >= %(since)s AND created_at < %(until)s
  AND part ->> 'type' IN ('tool_call', 'tool_result')
GROUP BY 1
"""


async def recount_usage(
    conn: psycopg.AsyncConnection[Any], org_id: UUID, from_day: date, to_day: date, g: str, agent_id: UUID | None
) -> dict[date, tuple[int, ...]]:
    params = {"g": g, "org": org_id, "agent": agent_id, **bounds(from_day, to_day)}
    counted: dict[date, list[int]] = {}
    for bucket, *counts in await (await conn.execute(RECOUNT_USAGE, params)).fetchall():
        counted[bucket] = [0, *counts]
    for bucket, threads in await (await conn.execute(RECOUNT_THREADS, params)).fetchall():
        counted.setdefault(bucket, [0] * 8)[0] = threads
    return {bucket: tuple(counts) for bucket, counts in counted.items()}


def reported_usage(buckets: list[Any]) -> dict[date, tuple[int, ...]]:
    fields = (
        "threads_created",
        "user_messages",
        "assistant_messages",
        "system_messages",
        "tool_messages",
        "input_tokens",
        "output_tokens",
        "active_users",
    )
    rows = {bucket.bucket: tuple(getattr(bucket, field) for field in fields) for bucket in buckets}
    return {bucket: counts for bucket, counts in rows.items() if any(counts)}


RANGES = [(FIRST, LAST), (date(2026, 2, 10), date(2026, 3, 25)), (date(2026, 3, 19), date(2026, 3, 21))]


@pytest.mark.parametrize("now", [MID_MARCH, APRIL], ids=["rollup to 19 March and live after", "rollup only"])
async def test_the_reports_agree_with_a_full_recount(seeded: tuple[str, list[UUID]], now: datetime) -> None:
    url, org_ids = seeded
    await refresh(url, org_ids, now, full=True)
    async with await connect(url) as conn:
        (complete_before,) = await (
            await conn.execute("SELECT min(complete_before) FROM analytics_refreshes")
        ).fetchone()  # type: ignore[misc]
        assert complete_before == (date(2026, 3, 20) if now == MID_MARCH else date(2026, 4, 5))
        agent = UUID(
            str((await (await conn.execute("SELECT id FROM agents WHERE name = 'Analytics agent 2'")).fetchone())[0])
        )  # type: ignore[index]
        for org_id in org_ids:
            for from_day, to_day in RANGES:
                for granularity in ("day", "week", "month"):
                    g: Granularity = granularity  # type: ignore[assignment]
                    for agent_id in (None, agent):
                        report = await usage_report(
                            conn, org_id=org_id, from_day=from_day, to_day=to_day, granularity=g, agent_id=agent_id
                        )
                        expected = await recount_usage(conn, org_id, from_day, to_day, granularity, agent_id)
                        assert reported_usage(report.buckets) == expected, (org_id, from_day, to_day, g, agent_id)
                agents = await agents_report(conn, org_id=org_id, from_day=from_day, to_day=to_day)
                recount = await (
                    await conn.execute(RECOUNT_AGENTS, {"org": org_id, **bounds(from_day, to_day)})
                ).fetchall()
                expected_agents = {row[0]: tuple(row[1:]) for row in recount if any(row[1:])}
                assert {
                    a.agent_id: (
                        a.threads_created,
                        a.user_messages,
                        a.assistant_messages,
                        a.system_messages,
                        a.tool_messages,
                        a.input_tokens,
                        a.output_tokens,
                        a.feedback_up,
                        a.feedback_down,
                        a.tasks_succeeded,
                        a.tasks_failed,
                    )
                    for a in agents.agents
                } == expected_agents
                tools = await tools_report(conn, org_id=org_id, from_day=from_day, to_day=to_day)
                recounted = await (
                    await conn.execute(RECOUNT_TOOLS, {"org": org_id, **bounds(from_day, to_day)})
                ).fetchall()
                assert {t.tool_name: (t.calls, t.failures) for t in tools.tools} == {n: (c, f) for n, c, f in recounted}


def plan_of(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> dict[str, Any]:
    (document,) = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()  # type: ignore[misc]
    plan: dict[str, Any] = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    return plan


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def test_a_year_of_reports_reads_the_rollup_not_the_messages(seeded: tuple[str, list[UUID]]) -> None:
    url, org_ids = seeded
    await refresh(url, org_ids, APRIL, full=True)
    year = {"org_id": org_ids[0], "from_day": date(2025, 4, 1), "to_day": date(2026, 4, 1), "agent_id": None}
    with psycopg.connect(url, autocommit=True) as conn:
        for query, params in (
            (queries.analytics.rollup_usage, {**year, "granularity": "month"}),
            (queries.analytics.rollup_active_users, {**year, "granularity": "month"}),
            (queries.analytics.rollup_agents, {k: v for k, v in year.items() if k != "agent_id"}),
            (queries.analytics.rollup_tools, {k: v for k, v in year.items() if k != "agent_id"}),
        ):
            plan = list(nodes(plan_of(conn, query.sql, params)))
            relations = {node["Relation Name"] for node in plan if "Relation Name" in node}
            # Only the rollup (which of its indexes, if any, is the plan contracts' business: this rollup
            # holds two orgs, small enough to read whole).
            assert relations <= {"analytics_daily", "analytics_daily_users", "analytics_daily_tools"}, query.name
        # The live part, for the days after the rollup: an index range over the org's newest messages.
        live = plan_of(conn, queries.analytics.live_daily.sql, {"org_id": org_ids[0], **bounds(LAST, LAST)})
        assert "messages_org_id_created_at_idx" in {node.get("Index Name") for node in nodes(live)}
        scanned = {node["Relation Name"] for node in nodes(live) if node["Node Type"] == "Seq Scan"}
        # 20,000 threads are few enough to hash whole; the messages never are.
        assert scanned <= {"threads"}, scanned


async def test_a_report_of_closed_days_answers_while_the_source_tables_are_locked(
    seeded: tuple[str, list[UUID]],
) -> None:
    url, org_ids = seeded
    await refresh(url, org_ids, APRIL, full=True)
    async with await connect(url) as conn:
        found = await conn.execute(
            "SELECT count(*) FROM messages WHERE org_id = %s AND role = 'user' AND created_at < '2026-04-01Z'",
            [org_ids[0]],
        )
        (user_messages,) = await found.fetchone()  # type: ignore[misc]
    lock = "LOCK TABLE messages, threads, feedback, tasks IN ACCESS EXCLUSIVE MODE"
    with holding_lock(url, lock):
        # Any read of a locked table would wait for the lock and be cancelled after 2 s.
        async with await psycopg.AsyncConnection.connect(
            url, autocommit=True, options="-c statement_timeout=2000"
        ) as conn:
            year = {"org_id": org_ids[0], "from_day": date(2025, 4, 1), "to_day": LAST}
            usage = await usage_report(conn, **year, granularity="month", agent_id=None)
            assert sum(bucket.user_messages for bucket in usage.buckets) == user_messages
            assert (await agents_report(conn, **year)).agents
            assert (await tools_report(conn, **year)).tools
