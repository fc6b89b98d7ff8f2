"""Tasks: one execution of an agent with an input, and what clients and workers send about them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

TaskStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
DEFAULT_LEASE_SECONDS = 300
MAX_LEASE_SECONDS = 86_400
MAX_CLAIM = 100


def in_calendar(value: datetime | None) -> datetime | None:
    """Refuse a time that leaves years 1 to 9999 in UTC (0001-01-01T00:00+14:00, 9999-12-31T23:00-14:00).

    PostgreSQL stores such a time, but reading it back fails (Python's dates end there): a 500 then.
    """
    if value is not None and value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise PydanticCustomError("datetime_range", "is outside the years 1 to 9999 in UTC") from None
    return value


CalendarDatetime = Annotated[datetime, AfterValidator(in_calendar)]
"""A datetime that stays within Python's calendar in UTC."""

WorkerId = Field(min_length=1, max_length=200, description="who is working: a label for people (claimed_by)")
LeaseToken = Field(
    min_length=1, max_length=200, description="the lease_token the claim returned: only the attempt it began may act"
)
LeaseSeconds = Field(
    default=DEFAULT_LEASE_SECONDS, ge=1, le=MAX_LEASE_SECONDS, description="how long the lease lasts from now"
)


class Task(BaseModel):
    id: UUID
    org_id: UUID
    agent_id: UUID
    schedule_id: UUID | None
    thread_id: UUID | None
    status: TaskStatus
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    attempt: int
    max_attempts: int
    priority: int
    run_after: datetime
    claimed_by: str | None
    lease_expires_at: datetime | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by: UUID | None


class ClaimedTask(Task):
    """A task a claim handed to a worker, with the lease token that heartbeat, complete and fail require.

    Shown only here: the database keeps its SHA-256.
    """

    lease_token: str


class TaskCreate(BaseModel):
    agent_id: UUID
    input: dict[str, Any] = {}
    priority: int = Field(default=0, ge=-1000, le=1000, description="higher runs first")
    max_attempts: int = Field(default=3, ge=1, le=100)
    run_after: CalendarDatetime | None = Field(default=None, description="not before this time; default now")
    thread_id: UUID | None = None


class TaskClaim(BaseModel):
    worker_id: str = WorkerId
    agent_ids: list[UUID] | None = Field(default=None, description="only tasks of these agents; default any")
    limit: int = Field(default=1, ge=1, le=MAX_CLAIM)
    lease_seconds: int = LeaseSeconds


class TaskHeartbeat(BaseModel):
    lease_token: str = LeaseToken
    lease_seconds: int = LeaseSeconds


class TaskComplete(BaseModel):
    lease_token: str = LeaseToken
    output: dict[str, Any] = {}


class TaskFail(BaseModel):
    lease_token: str = LeaseToken
    error: str = Field(min_length=1, max_length=10_000)
    retryable: bool = True


class TaskQueueDepth(BaseModel):
    """Tasks in the queue over every org, by status (for /metrics)."""

    queued: int
    running: int
