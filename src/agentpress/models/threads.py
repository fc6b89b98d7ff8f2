"""Threads: a user's conversations in an org, and the fields a client writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field


class Thread(BaseModel):
    id: UUID
    org_id: UUID
    user_id: UUID
    agent_id: UUID | None
    name: str
    message_count: int
    last_message_at: datetime | None
    is_archived: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CountedThread(Thread):
    """A row of an offset page of threads: the thread, and how many threads the page's filters match in all.

    Returned as a Thread: the response's items are declared as Thread, so `total` is never encoded in them."""

    total: int


class ThreadCreate(BaseModel):
    name: str = Field(default="New thread", min_length=1, max_length=500)
    agent_id: UUID | None = Field(default=None, description="an agent of the org")
    metadata: dict[str, Any] = {}


class ThreadUpdate(BaseModel):
    """A partial change: fields left out keep their value; agent_id sent as null detaches the agent."""

    # May be left out, not sent as null (the document says so: web/bodies.py).
    NOT_NULL: ClassVar[tuple[str, ...]] = ("name", "is_archived", "metadata")

    name: str | None = Field(default=None, min_length=1, max_length=500)
    agent_id: UUID | None = Field(default=None, description="an agent of the org, or null for none")
    is_archived: bool | None = None
    metadata: dict[str, Any] | None = None
