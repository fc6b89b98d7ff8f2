"""The scheduler: due schedules become one task each, missed windows fire once, concurrent schedulers, DST."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from agentpress.cli import main
from agentpress.services.scheduler import (
    DEFAULT_MIN_INTERVAL_SECONDS,
    fires_more_often_than,
    is_valid_cron,
    next_occurrence,
    step,
)

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def make_agent(conn: psycopg.Connection[Any]) -> tuple[Any, Any]:
    (org_id,) = conn.execute("INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme') RETURNING id").fetchone()  # type: ignore[misc]
    (agent_id,) = conn.execute(  # type: ignore[misc]
        "INSERT INTO agents (org_id, name) VALUES (%s, 'Bot') RETURNING id", [org_id]
    ).fetchone()
    return org_id, agent_id


def add_cron_schedule(
    conn: psycopg.Connection[Any], org_id: Any, agent_id: Any, *, cron: str, next_run_at: str, name: str = "s"
) -> Any:
    (schedule_id,) = conn.execute(  # type: ignore[misc]
        "INSERT INTO schedules (org_id, agent_id, name, kind, cron, timezone, input, next_run_at) "
        "VALUES (%s, %s, %s, 'cron', %s, 'Europe/Berlin', '{\"q\": 1}', now() + %s::interval) RETURNING id",
        [org_id, agent_id, name, cron, next_run_at],
    ).fetchone()
    return schedule_id


async def step_until_idle(database_url: str) -> int:
    fired = 0
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while count := await step(conn, limit=7):
            fired += count
    return fired


# Cron stepping, on fixed datetimes.


def test_a_daily_time_skipped_in_spring_fires_when_the_clock_jumps_past_it() -> None:
    # 2026-03-29 in Berlin: 02:00 CET becomes 03:00 CEST; there is no 02:30 that day.
    after = utc(2026, 3, 27, 12)
    fired = []
    for _ in range(4):
        after = next_occurrence("30 2 * * *", "Europe/Berlin", after)
        fired.append(after)
    assert fired == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST, the first moment after the skipped 02:30
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
        utc(2026, 3, 31, 0, 30),
    ]
    assert [moment.astimezone(BERLIN).hour for moment in fired] == [2, 3, 2, 2]


def test_an_hourly_schedule_fires_every_real_hour_across_both_changes() -> None:
    # Autumn, 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:00 happens twice; both fire, an hour apart.
    after, fired = utc(2026, 10, 24, 23, 30), []
    for _ in range(4):
        after = next_occurrence("0 * * * *", "Europe/Berlin", after)
        fired.append(after)
    assert fired == [utc(2026, 10, 25, 0), utc(2026, 10, 25, 1), utc(2026, 10, 25, 2), utc(2026, 10, 25, 3)]
    assert [moment.astimezone(BERLIN).strftime("%H:%M%z") for moment in fired] == [
        "02:00+0200",
        "02:00+0100",
        "03:00+0100",
        "04:00+0100",
    ]
    # Spring: the hour from 02:00 to 03:00 does not exist; the hours around it are one real hour apart.
    after, fired = utc(2026, 3, 28, 23, 30), []
    for _ in range(3):
        after = next_occurrence("0 * * * *", "Europe/Berlin", after)
        fired.append(after)
    assert fired == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)]
    assert [moment.astimezone(BERLIN).hour for moment in fired] == [1, 3, 4]


def test_the_next_occurrence_is_strictly_after_and_read_in_the_zone() -> None:
    assert next_occurrence("0 9 * * *", "America/New_York", utc(2026, 1, 5, 14)) == utc(2026, 1, 6, 14)
    assert next_occurrence("0 9 * * *", "America/New_York", utc(2026, 1, 5, 13, 59)) == utc(2026, 1, 5, 14)
    assert next_occurrence("@daily", "UTC", utc(2026, 1, 5, 0)) == utc(2026, 1, 6, 0)
    with pytest.raises(ValueError, match="unknown time zone"):
        next_occurrence("0 9 * * *", "Mars/Olympus_Mons", utc(2026, 1, 5))


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("*/5 * * * *", True),
        ("30 2 * * 1-5", True),
        ("@hourly", True),
        ("61 * * * *", False),
        ("* * * *", False),
        ("* * * * * *", False),  # croniter's seconds field
        ("every day", False),
        ("", False),
    ],
)
def test_cron_expressions_are_checked(expression: str, valid: bool) -> None:
    assert is_valid_cron(expression) is valid


@pytest.mark.parametrize(
    ("expression", "seconds", "too_often"),
    [
        ("* * * * *", 60, False),
        ("* * * * *", 61, True),
        ("*/5 * * * *", 300, False),
        ("*/5 * * * *", 301, True),
        ("55,0 * * * *", 300, False),
        ("56,0 * * * *", 300, True),  # 23:56 to 00:00 the next hour
        ("@hourly", 3600, False),
        ("@hourly", 3601, True),
        ("0,59 0,23 * * *", 120, True),  # 23:59 to 00:00 the next day
        ("0,59 0,23 1 * *", 120, False),  # ... but the next day never fires
        ("0 0 1,31 * *", 86_401, True),  # the 31st and the 1st follow each other
        ("0 0 * * 1", 7 * 86_400, False),
        ("0 0 * * 1", 7 * 86_400 + 1, True),
        ("0 0 28 2 *", 365 * 86_400, False),
        ("0 0 29 2 *", 1000 * 86_400, False),  # a leap day: every four years
    ],
)
def test_the_shortest_interval_of_a_cron_expression(expression: str, seconds: int, too_often: bool) -> None:
    assert fires_more_often_than(expression, seconds) is too_often


def test_a_date_that_never_comes_has_no_next_occurrence() -> None:
    for expression in ("0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"):
        assert is_valid_cron(expression)
        with pytest.raises(ValueError):
            next_occurrence(expression, "UTC", utc(2026, 1, 5))


# Steps against the database.


@pytest.mark.anyio
async def test_two_concurrent_schedulers_fire_100_due_schedules_exactly_once(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        org_id, agent_id = make_agent(conn)
        for n in range(100):
            add_cron_schedule(conn, org_id, agent_id, cron="0 * * * *", next_run_at="-1 minute", name=f"s{n}")
    counts = await asyncio.gather(step_until_idle(database_url), step_until_idle(database_url))
    assert sum(counts) == 100
    with psycopg.connect(database_url) as conn:
        tasks = conn.execute("SELECT count(*), count(DISTINCT schedule_id) FROM tasks").fetchone()
        assert tasks == (100, 100)
        (due,) = conn.execute("SELECT count(*) FROM schedules WHERE next_run_at <= now()").fetchone()  # type: ignore[misc]
        assert due == 0


@pytest.mark.anyio
async def test_a_schedule_missed_for_hours_fires_once_and_moves_past_now(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        org_id, agent_id = make_agent(conn)
        schedule_id = add_cron_schedule(conn, org_id, agent_id, cron="*/10 * * * *", next_run_at="-5 hours")
        add_cron_schedule(conn, org_id, agent_id, cron="0 * * * *", next_run_at="1 hour", name="not due")
    assert await step_until_idle(database_url) == 1
    assert await step_until_idle(database_url) == 0
    with psycopg.connect(database_url) as conn:
        task = conn.execute("SELECT org_id, agent_id, schedule_id, input, status FROM tasks").fetchall()
        assert task == [(org_id, agent_id, schedule_id, {"q": 1}, "queued")]
        row = conn.execute(
            "SELECT next_run_at, last_run_at, is_enabled, now() FROM schedules WHERE id = %s", [schedule_id]
        ).fetchone()
    assert row is not None
    next_run_at, last_run_at, is_enabled, now = row
    assert is_enabled and last_run_at is not None
    # The first */10 mark at least the minimum interval after the firing: within a minute before a mark, the next.
    assert now < next_run_at <= now + timedelta(minutes=10, seconds=DEFAULT_MIN_INTERVAL_SECONDS)
    assert next_run_at.astimezone(BERLIN).minute % 10 == 0


@pytest.mark.anyio
async def test_a_once_schedule_fires_once_and_disables_itself(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        org_id, agent_id = make_agent(conn)
        (schedule_id,) = conn.execute(  # type: ignore[misc]
            "INSERT INTO schedules (org_id, agent_id, name, kind, run_at, next_run_at) "
            "VALUES (%s, %s, 'once', 'once', now() - interval '1 day', now() - interval '1 day') RETURNING id",
            [org_id, agent_id],
        ).fetchone()
        conn.execute(
            "INSERT INTO schedules (org_id, agent_id, name, kind, run_at, next_run_at) "
            "VALUES (%s, %s, 'later', 'once', now() + interval '1 day', now() + interval '1 day')",
            [org_id, agent_id],
        )
    assert await step_until_idle(database_url) == 1
    assert await step_until_idle(database_url) == 0
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT schedule_id FROM tasks").fetchall() == [(schedule_id,)]
        row = conn.execute(
            "SELECT is_enabled, next_run_at, last_run_at IS NOT NULL, run_at IS NOT NULL FROM schedules WHERE id = %s",
            [schedule_id],
        ).fetchone()
    assert row == (False, None, True, True)


@pytest.mark.anyio
async def test_a_schedule_that_cannot_be_stepped_is_disabled_and_does_not_block_the_others(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        org_id, agent_id = make_agent(conn)
        broken = add_cron_schedule(conn, org_id, agent_id, cron="0 * * * *", next_run_at="-2 hours", name="broken")
        conn.execute("UPDATE schedules SET timezone = 'Gone/Away' WHERE id = %s", [broken])
        add_cron_schedule(conn, org_id, agent_id, cron="0 * * * *", next_run_at="-1 hour", name="fine")
    assert await step_until_idle(database_url) == 1
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT is_enabled, next_run_at FROM schedules WHERE id = %s", [broken]).fetchone()
        assert row == (False, None)
        assert conn.execute("SELECT count(*) FROM tasks WHERE schedule_id = %s", [broken]).fetchone() == (0,)


def test_the_scheduler_command_runs_one_step(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        org_id, agent_id = make_agent(conn)
        add_cron_schedule(conn, org_id, agent_id, cron="0 * * * *", next_run_at="-1 minute")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", "off")
    assert main(["scheduler", "--once"]) == 0
    assert "queued 1 task(s)" in capsys.readouterr().out
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (1,)


@pytest.mark.anyio
async def test_the_scheduler_spaces_runs_by_the_minimum_interval(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        org_id, agent_id = make_agent(conn)
        # Written before the limit, or in SQL: every minute.
        schedule_id = add_cron_schedule(conn, org_id, agent_id, cron="* * * * *", next_run_at="-1 minute")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await step(conn, min_interval_seconds=600) == 1
        assert await step(conn, min_interval_seconds=600) == 0
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT next_run_at >= last_run_at + interval '10 minutes',"
            " next_run_at < last_run_at + interval '11 minutes' FROM schedules WHERE id = %s",
            [schedule_id],
        ).fetchone()
    assert row == (True, True)


@pytest.mark.anyio
async def test_a_schedule_of_an_org_with_a_full_queue_drops_its_run_and_moves_on(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        org_id, agent_id = make_agent(conn)
        conn.execute("INSERT INTO tasks (org_id, agent_id) VALUES (%s, %s)", [org_id, agent_id])
        full = add_cron_schedule(conn, org_id, agent_id, cron="0 * * * *", next_run_at="-1 minute", name="full")
        (other_org,) = conn.execute("INSERT INTO orgs (name, slug) VALUES ('B', 'b') RETURNING id").fetchone()  # type: ignore[misc]
        (other_agent,) = conn.execute(  # type: ignore[misc]
            "INSERT INTO agents (org_id, name) VALUES (%s, 'Bot') RETURNING id", [other_org]
        ).fetchone()
        add_cron_schedule(conn, other_org, other_agent, cron="0 * * * *", next_run_at="-1 minute", name="room")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await step(conn, max_queued=1) == 1
    with psycopg.connect(database_url) as conn:
        counts = conn.execute("SELECT org_id, count(*) FROM tasks GROUP BY org_id").fetchall()
        assert sorted(counts) == sorted([(org_id, 1), (other_org, 1)])
        (moved,) = conn.execute(  # type: ignore[misc]
            "SELECT next_run_at > now() AND last_run_at IS NOT NULL FROM schedules WHERE id = %s", [full]
        ).fetchone()
    assert moved
