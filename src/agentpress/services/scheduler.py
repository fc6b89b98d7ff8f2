"""The scheduler: turns due schedules into queued tasks, one transaction per schedule, in a loop or once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agentpress.repositories import schedules
from agentpress.services.polling import poll
from agentpress.settings import Settings

log = logging.getLogger("agentpress.services.scheduler")

# Schedules fired per step before the loop looks again without sleeping.
BATCH_SIZE = 100
# The defaults of the limits, for callers without settings (the `scheduler --once` command).
DEFAULT_MIN_INTERVAL_SECONDS: int = Settings.model_fields["schedule_min_interval_seconds"].default
DEFAULT_MAX_QUEUED: int = Settings.model_fields["max_queued_tasks_per_org"].default
# How far fires_more_often_than looks for two firing days close together: two leap cycles.
DAY_WALK_YEARS = 8


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
    try:
        found: datetime = croniter(expression, after.astimezone(zone(timezone))).get_next(datetime)
        return found.astimezone(UTC)
    except OverflowError as exc:  # past year 9999
        raise ValueError(f"{expression!r} has no occurrence before the year 10000") from exc
    # croniter's CroniterBadDateError (a date that never comes, such as 0 0 31 2 *) is a ValueError.


def fires_more_often_than(expression: str, seconds: int) -> bool:
    """Whether two occurrences of a valid 5-field cron expression can come less than `seconds` apart.

    On the wall clock: a daylight-saving change may bring two occurrences closer once, which the
    scheduler's own spacing (step's min_interval_seconds) absorbs. The times of day are the product
    of the minute and hour fields, so the shortest gap within a day is between two of them; across
    days it is the gap between firing days less the spread of the times of day, and only when the
    setting is near a day or longer are the firing days walked to find the closest two.
    """
    minutes, hours = croniter(expression).expanded[:2]
    times = sorted(
        hour * 60 + minute
        for hour in (range(24) if hours == ["*"] else hours)
        for minute in (range(60) if minutes == ["*"] else minutes)
    )
    limit = seconds / 60  # in minutes
    if any(later - earlier < limit for earlier, later in pairwise(times)):
        return True
    # Firing days `days` apart give a gap of days * 1440 - spread minutes: short enough only below this.
    spread = times[-1] - times[0]
    days_below = (limit + spread) / 1440
    if days_below <= 1:
        return False
    start = datetime(2001, 1, 1)
    found = croniter(expression, start)
    previous: datetime | None = None
    day = start - timedelta(days=1)
    while day.year < start.year + DAY_WALK_YEARS:
        # The next firing day: the first occurrence after the end of the last one found.
        found.set_current(datetime(day.year, day.month, day.day, 23, 59), force=True)
        try:
            day = found.get_next(datetime)
        except ValueError:  # no further firing day within croniter's reach
            return False
        if previous is not None and (day.date() - previous.date()).days < days_below:
            return True
        previous = day
    return False


async def step(
    conn: AsyncConnection[Any],
    *,
    limit: int = BATCH_SIZE,
    min_interval_seconds: int = DEFAULT_MIN_INTERVAL_SECONDS,
    max_queued: int = DEFAULT_MAX_QUEUED,
) -> int:
    """Fire up to `limit` due schedules, each in its own transaction; returns how many tasks were queued.

    The schedule is locked (skipped by other schedulers), its task inserted and its next_run_at moved
    past now in one transaction: an occurrence is never fired twice, and one that was missed while no
    scheduler ran is fired once, not once per missed occurrence. The next run is at least
    `min_interval_seconds` after this one whatever the cron says (a daylight-saving change, a cron
    written before the limit), and an org with `max_queued` queued tasks gets no new one: the
    occurrence is dropped and the schedule moves on.
    """
    fired = 0
    for _ in range(limit):
        async with conn.transaction():
            due = await schedules.lock_due_schedule(conn)
            if due is None:
                break
            if due.kind == "once":
                task_id = await schedules.fire_schedule(
                    conn, schedule_id=due.id, next_run_at=None, is_enabled=False, max_queued=max_queued
                )
                fired += _counted(due.id, task_id)
                continue
            try:
                assert due.cron is not None and due.timezone is not None  # schedules_kind_check
                # The first occurrence at least min_interval_seconds after this run (strictly after that, less 1 µs).
                spaced = due.fired_at + timedelta(seconds=min_interval_seconds, microseconds=-1)
                next_run_at = next_occurrence(due.cron, due.timezone, spaced)
            except (ValueError, KeyError) as exc:
                # Checked when written, but a time zone can leave the system's database: switch it off
                # rather than let it block the queue.
                log.warning("schedule %s disabled: cannot step %r: %s", due.id, due.cron, exc)
                await schedules.disable_schedule(conn, schedule_id=due.id)
                continue
            task_id = await schedules.fire_schedule(
                conn, schedule_id=due.id, next_run_at=next_run_at, is_enabled=True, max_queued=max_queued
            )
            fired += _counted(due.id, task_id)
    return fired


def _counted(schedule_id: UUID, task_id: UUID | None) -> int:
    if task_id is None:
        log.warning("schedule %s: its org's queue is full (MAX_QUEUED_TASKS_PER_ORG); this run is dropped", schedule_id)
        return 0
    return 1


async def run_scheduler_loop(pool: AsyncConnectionPool[Any], settings: Settings) -> None:
    """Step every SCHEDULER_POLL_SECONDS until cancelled (at once again after a full batch)."""

    async def fire_due() -> bool:
        async with pool.connection() as conn:
            fired = await step(
                conn,
                min_interval_seconds=settings.schedule_min_interval_seconds,
                max_queued=settings.max_queued_tasks_per_org,
            )
        if fired:
            log.info("scheduler queued %d task(s)", fired, extra={"fired": fired})
        return fired >= BATCH_SIZE

    await poll("scheduler step", fire_due, every=settings.scheduler_poll_seconds, log=log)
