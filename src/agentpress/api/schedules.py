"""Schedules: an agent run once at a time or on a cron recurrence in a time zone, each run queued as a task."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from agentpress.models.schedules import Schedule, ScheduleCreate, ScheduleKind, ScheduleUpdate
from agentpress.repositories import schedules
from agentpress.services.patching import lock_merge_write
from agentpress.services.scheduler import fires_more_often_than, is_valid_cron, next_occurrence, zone
from agentpress.web.access import Org
from agentpress.web.dependencies import AppSettings, Conn
from agentpress.web.errors import field_error, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset

SCHEDULE_PATH = "/{schedule_id:uuid}"
# Changing one of these moves next_run_at.
TIMING_FIELDS = ("kind", "run_at", "cron", "timezone", "is_enabled")


def _next_run_at(
    kind: ScheduleKind,
    run_at: datetime | None,
    cron: str | None,
    timezone: str | None,
    is_enabled: bool,
    min_interval_seconds: int,
) -> datetime | None:
    """Check that the kind has its fields (422 naming the field) and return the schedule's next run.

    once: run_at (in the past: it fires at the scheduler's next step); cron: the first occurrence
    after now in its time zone, which must exist and come at most once every min_interval_seconds;
    a disabled schedule has none (but is checked all the same, so that enabling it cannot fail).
    """
    if kind == "once":
        if run_at is None:
            raise field_error(422, "invalid_value", "run_at", "is required for a once schedule")
        for name, value in (("cron", cron), ("timezone", timezone)):
            if value is not None:
                raise field_error(422, "invalid_value", name, "is only for cron schedules")
        return run_at if is_enabled else None
    if run_at is not None:
        raise field_error(422, "invalid_value", "run_at", "is only for once schedules")
    if cron is None:
        raise field_error(422, "invalid_value", "cron", "is required for a cron schedule")
    if timezone is None:
        raise field_error(422, "invalid_value", "timezone", "is required for a cron schedule")
    if not is_valid_cron(cron):
        raise field_error(
            422,
            "invalid_value",
            "cron",
            "is not a valid cron expression: 5 fields (minute hour day month weekday) or a macro such as @daily",
        )
    try:
        zone(timezone)
    except ValueError:
        raise field_error(
            422, "invalid_value", "timezone", "is not a known IANA time zone (such as Europe/Berlin)"
        ) from None
    try:
        next_run_at = next_occurrence(cron, timezone, datetime.now(UTC))
    except ValueError:
        # A date that never comes (0 0 31 2 *: croniter finds no next one), or none before the year 10000.
        raise field_error(422, "invalid_value", "cron", "never fires: no such date comes in the calendar") from None
    if fires_more_often_than(cron, min_interval_seconds):
        raise field_error(
            422,
            "invalid_value",
            "cron",
            f"fires more often than once every {min_interval_seconds} seconds (SCHEDULE_MIN_INTERVAL_SECONDS)",
        )
    return next_run_at if is_enabled else None


def _merge(changes: dict[str, Any]) -> Callable[[Schedule], Schedule]:
    """The schedule with the fields the client sent: a field left out keeps its value."""

    def merge(schedule: Schedule) -> Schedule:
        if changes.get("kind", schedule.kind) != schedule.kind:
            # The other kind's fields go unless the client sent them (and then they are refused).
            cleared = ("cron", "timezone") if changes["kind"] == "once" else ("run_at",)
            return schedule.model_copy(update={name: None for name in cleared} | changes)
        return schedule.model_copy(update=changes)

    return merge


def _next_run_after_change(schedule: Schedule, merged: Schedule, min_interval_seconds: int) -> datetime | None:
    """The changed schedule's next run (checked as _next_run_at checks it); unchanged if its timing is."""
    # A cron kept as it was keeps working under a raised SCHEDULE_MIN_INTERVAL_SECONDS (the scheduler
    # spaces its runs): only a new one is held to it.
    min_interval = min_interval_seconds if merged.cron != schedule.cron else 0
    next_run_at = _next_run_at(
        merged.kind, merged.run_at, merged.cron, merged.timezone, merged.is_enabled, min_interval
    )
    if all(getattr(merged, name) == getattr(schedule, name) for name in TIMING_FIELDS):
        # Nothing about its timing changed: an occurrence already due stays due.
        return schedule.next_run_at
    return next_run_at


class SchedulesController(Controller):
    path = "/schedules"
    tags = ["schedules"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/", operation_id="list_schedules", summary="The org's schedules, newest first")
    async def list_schedules(
        self,
        conn: Conn,
        org: Org,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[Schedule]:
        items, total = await schedules.list_schedules(
            conn, org_id=org.org_id, limit=page_size, offset=offset(page, page_size)
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post(
        "/",
        operation_id="create_schedule",
        summary="Create a schedule for one of the org's agents (owners and admins); next_run_at is computed",
    )
    async def create_schedule(
        self, conn: Conn, org: Org, settings: AppSettings, data: JSONBody[ScheduleCreate]
    ) -> Schedule:
        org.require_manager()
        next_run_at = _next_run_at(
            data.kind, data.run_at, data.cron, data.timezone, data.is_enabled, settings.schedule_min_interval_seconds
        )
        # An agent that is not the org's fails schedules_agent_id_fkey: 422 naming agent_id, through the error mapping.
        return await schedules.create_schedule(
            conn,
            org_id=org.org_id,
            agent_id=data.agent_id,
            name=data.name,
            kind=data.kind,
            run_at=data.run_at,
            cron=data.cron,
            timezone=data.timezone,
            input=data.input,
            is_enabled=data.is_enabled,
            next_run_at=next_run_at,
            created_by=org.user.id,
        )

    @get(SCHEDULE_PATH, operation_id="get_schedule", summary="A schedule of the org")
    async def get_schedule(self, conn: Conn, org: Org, schedule_id: FromPath[UUID]) -> Schedule:
        schedule = await schedules.get_schedule(conn, org_id=org.org_id, schedule_id=schedule_id)
        if schedule is None:
            raise not_found("schedule")
        return schedule

    @patch(
        SCHEDULE_PATH,
        operation_id="update_schedule",
        summary="Change some of a schedule's fields (owners and admins); a change of its timing recomputes next_run_at",
    )
    async def update_schedule(
        self, conn: Conn, org: Org, settings: AppSettings, schedule_id: FromPath[UUID], data: JSONBody[ScheduleUpdate]
    ) -> Schedule:
        org.require_manager()
        return await lock_merge_write(
            conn,
            lock=lambda: schedules.get_schedule_for_update(conn, org_id=org.org_id, schedule_id=schedule_id),
            merge=_merge(data.model_dump(exclude_unset=True)),
            write=lambda schedule, merged: schedules.update_schedule(
                conn,
                org_id=org.org_id,
                schedule_id=schedule_id,
                agent_id=merged.agent_id,
                name=merged.name,
                kind=merged.kind,
                run_at=merged.run_at,
                cron=merged.cron,
                timezone=merged.timezone,
                input=merged.input,
                is_enabled=merged.is_enabled,
                next_run_at=_next_run_after_change(schedule, merged, settings.schedule_min_interval_seconds),
            ),
            missing=not_found("schedule"),
        )

    @delete(
        SCHEDULE_PATH,
        operation_id="delete_schedule",
        summary="Delete a schedule (owners and admins); the tasks it queued stay",
    )
    async def delete_schedule(self, conn: Conn, org: Org, schedule_id: FromPath[UUID]) -> None:
        org.require_manager()
        if not await schedules.delete_schedule(conn, org_id=org.org_id, schedule_id=schedule_id):
            raise not_found("schedule")
