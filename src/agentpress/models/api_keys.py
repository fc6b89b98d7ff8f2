"""Org API keys: service credentials for workers and the agent runtime, with their scopes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from agentpress.models.tasks import in_calendar

ApiKeyScope = Literal["tasks:work", "messages:read", "messages:write"]
API_KEY_SCOPES: tuple[str, ...] = get_args(ApiKeyScope)
"""What a key may be allowed: work the org's task queue; read, and append to, any thread of the org."""


class ApiKey(BaseModel):
    """A key as listed: never its token, which only its creation answer shows."""

    id: UUID
    org_id: UUID
    name: str
    scopes: list[ApiKeyScope]
    created_by: UUID | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    # Strings here, checked by the controller against API_KEY_SCOPES: an unknown scope is a 422
    # naming `scopes` rather than a 400 about the body.
    scopes: list[str] = Field(
        max_length=len(API_KEY_SCOPES) * 4,
        description=f"one or more of {', '.join(API_KEY_SCOPES)}",
        # What the controller checks, for the document (web/bodies.py copies it there).
        json_schema_extra={"minItems": 1, "items": {"type": "string", "enum": list(API_KEY_SCOPES)}},
    )
    expires_at: Annotated[AwareDatetime, AfterValidator(in_calendar)] | None = Field(
        default=None, description="in the future, with a time zone; null: until revoked"
    )


class ApiKeyCreated(ApiKey):
    """The answer to creating a key: the only time its token is shown."""

    token: str = Field(description="the bearer token (starts with apk.); store it now, it is not shown again")


class ServiceKey(BaseModel):
    """A live key that signed a request: which org it acts for and what it may do there."""

    id: UUID
    org_id: UUID
    name: str
    scopes: list[ApiKeyScope]
    last_used_at: datetime | None
    expires_at: datetime | None
