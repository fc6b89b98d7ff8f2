"""Schedules: templates that turn into tasks once or on a cron recurrence in a time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from agentpress.models.tasks import in_calendar

ScheduleKind = Literal["once", "cron"]
RunAt = Annotated[AwareDatetime, AfterValidator(in_calendar)]


class Schedule(BaseModel):
    id: UUID
    org_id: UUID
    agent_id: UUID
    name: str
    kind: ScheduleKind
    run_at: datetime | None
    cron: str | None
    timezone: str | None
    input: dict[str, Any]
    is_enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class DueSchedule(BaseModel):
    """A schedule the scheduler has locked to fire, and the time it fires at (the transaction's now())."""

    id: UUID
    kind: ScheduleKind
    cron: str | None
    timezone: str | None
    next_run_at: datetime | None
    fired_at: datetime


class ScheduleCreate(BaseModel):
    """kind once takes run_at; kind cron takes cron and timezone (an IANA name such as Europe/Berlin)."""

    agent_id: UUID
    name: str = Field(min_length=1, max_length=200)
    kind: ScheduleKind
    run_at: RunAt | None = None
    cron: str | None = Field(
        default=None,
        max_length=200,
        description="5 fields (minute hour day month weekday); it may not fire more often than "
        "SCHEDULE_MIN_INTERVAL_SECONDS",
    )
    timezone: str | None = Field(default=None, max_length=100)
    input: dict[str, Any] = {}
    is_enabled: bool = True


class ScheduleUpdate(BaseModel):
    """A partial change: fields left out keep their value; run_at, cron and timezone sent as null are cleared.

    Changing kind clears the other kind's fields that are not sent.
    """

    agent_id: UUID | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: ScheduleKind | None = None
    run_at: RunAt | None = None
    cron: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=100)
    input: dict[str, Any] | None = None
    is_enabled: bool | None = None

    @field_validator("agent_id", "name", "kind", "input", "is_enabled")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for fields the client sent: these columns are NOT NULL, so null cannot clear them.
        if value is None:
            raise PydanticCustomError("not_null", "may be left out but not null")
        return value
