"""Personas: a reusable name, prompt, tone and style that agents take on."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

# Only web addresses: the front end renders avatar_url as an image source, where a javascript:
# or data: URL would be a way to run or smuggle content.
AVATAR_URL_PATTERN = r"^https?://\S+$"


class Persona(BaseModel):
    id: UUID
    org_id: UUID
    name: str
    description: str | None
    prompt: str | None
    style: dict[str, Any]
    avatar_url: str | None
    created_at: datetime
    updated_at: datetime


class PersonaCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    prompt: str | None = Field(default=None, max_length=200_000)
    style: dict[str, Any] = Field(default={}, description='Tone and style settings, e.g. {"tone": "friendly"}')
    avatar_url: str | None = Field(default=None, max_length=2048, pattern=AVATAR_URL_PATTERN)


class PersonaUpdate(BaseModel):
    """A partial change: fields left out keep their value; description, prompt or avatar_url sent as null is cleared."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    prompt: str | None = Field(default=None, max_length=200_000)
    style: dict[str, Any] | None = None
    avatar_url: str | None = Field(default=None, max_length=2048, pattern=AVATAR_URL_PATTERN)

    @field_validator("name", "style")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for fields the client sent: these columns are NOT NULL, so null cannot clear them.
        if value is None:
            raise PydanticCustomError("not_null", "may be left out but not null")
        return value
