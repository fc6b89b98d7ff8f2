"""The scheduler: turns due schedules into queued tasks, one transaction per schedule, in a loop or once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from croniter import croniter
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agentpress.config import Settings
from agentpress.repositories import schedules

log = logging.getLogger("agentpress.scheduler")

# Schedules fired per step before the loop looks again without sleeping.
BATCH_SIZE = 100


def is_valid_cron(expression: str) -> bool:
    """Five fields (minute hour day month weekday) or a macro such as @daily; croniter's seconds field is not."""
    fields = expression.split()
    if not fields or (len(fields) != 5 and not (len(fields) == 1 and fields[0].startswith("@"))):
        return False
    return bool(croniter.is_valid(expression))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # ValueError: a name that is not a key, such as "../x"
        raise ValueError(f"unknown time zone {name!r}") from exc


def next_occurrence(expression: str, timezone: str, after: datetime) -> datetime:
    """The first occurrence of the cron expression strictly after `after`, read on the clock of `timezone`.

    Across daylight-saving changes the wall clock decides: a time skipped in spring fires when the
    clock jumps past it, an hour repeated in autumn fires in both of its instants.
    """
    if after.tzinfo is None:
        raise ValueError("after must carry a time zone")
    found: datetime = croniter(expression, after.astimezone(zone(timezone))).get_next(datetime)
    return found.astimezone(UTC)


async def step(conn: AsyncConnection[Any], *, limit: int = BATCH_SIZE) -> int:
    """Fire up to `limit` due schedules, each in its own transaction; returns how many tasks were queued.

    The schedule is locked (skipped by other schedulers), its task inserted and its next_run_at moved
    past now in one transaction: an occurrence is never fired twice, and one that was missed while no
    scheduler ran is fired once, not once per missed occurrence.
    """
    fired = 0
    for _ in range(limit):
        async with conn.transaction():
            due = await schedules.lock_due_schedule(conn)
            if due is None:
                break
            if due.kind == "once":
                await schedules.fire_schedule(conn, schedule_id=due.id, next_run_at=None, is_enabled=False)
                fired += 1
                continue
            try:
                assert due.cron is not None and due.timezone is not None  # schedules_kind_check
                next_run_at = next_occurrence(due.cron, due.timezone, due.fired_at)
            except (ValueError, KeyError) as exc:
                # Checked when written, but a time zone can leave the system's database: switch it off
                # rather than let it block the queue.
                log.warning("schedule %s disabled: cannot step %r: %s", due.id, due.cron, exc)
                await schedules.disable_schedule(conn, schedule_id=due.id)
                continue
            await schedules.fire_schedule(conn, schedule_id=due.id, next_run_at=next_run_at, is_enabled=True)
            fired += 1
    return fired


async def run_scheduler_loop(pool: AsyncConnectionPool[Any], settings: Settings) -> None:
    """Step every SCHEDULER_POLL_SECONDS until cancelled (at once again after a full batch); outages are waited out."""
    while True:
        fired = 0
        try:
            async with pool.connection() as conn:
                fired = await step(conn)
            if fired:
                log.info("scheduler queued %d task(s)", fired, extra={"fired": fired})
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("scheduler step skipped: %s", exc)
        except Exception:
            # The loop must outlive any bug: a schedule that never fires is worse than a logged error.
            log.exception("scheduler step failed")
        if fired < BATCH_SIZE:
            await asyncio.sleep(settings.scheduler_poll_seconds)
