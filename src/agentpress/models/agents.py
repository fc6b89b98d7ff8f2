"""Agents, the fields a client writes, and their versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

# The agents table's checks on these, for the document (web/bodies.py copies them there).
TEMPERATURE: dict[str, Any] = {"minimum": 0, "maximum": 2}
MAX_TOKENS: dict[str, Any] = {"minimum": 1, "maximum": 2_147_483_647}


class AgentFields(BaseModel):
    """What an agent is made of: everything a version snapshots."""

    name: str
    description: str | None = None
    prompt: str | None = None
    primary_model_provider: str | None = None
    primary_model: str | None = None
    primary_model_temperature: float | None = Field(default=None, json_schema_extra=TEMPERATURE)
    max_tokens: int | None = Field(default=None, json_schema_extra=MAX_TOKENS)
    persona_id: UUID | None = None
    is_enabled: bool = True
    is_archived: bool = False
    tools_enabled: list[UUID] = []
    rag_enabled: list[UUID] = Field(default=[], description="the knowledge bases the agent may search")


class Agent(AgentFields):
    id: UUID
    org_id: UUID
    version: int
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class AgentCreate(BaseModel):
    # Ranges (temperature 0..2, max_tokens > 0) are the database's checks, answered with 422 naming the field; the
    # document says them (TEMPERATURE, MAX_TOKENS).
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    prompt: str | None = Field(default=None, max_length=200_000)
    primary_model_provider: str | None = Field(default=None, max_length=64)
    primary_model: str | None = Field(default=None, max_length=200)
    primary_model_temperature: float | None = Field(default=None, json_schema_extra=TEMPERATURE)
    max_tokens: int | None = Field(default=None, json_schema_extra=MAX_TOKENS)
    persona_id: UUID | None = None
    is_enabled: bool = True
    is_archived: bool = False
    tools_enabled: list[UUID] = Field(default=[], max_length=200)
    rag_enabled: list[UUID] = Field(default=[], max_length=200, description="the knowledge bases the agent may search")


class AgentUpdate(BaseModel):
    """A partial change: fields left out keep their value; a field sent as null is cleared, but for NOT_NULL."""

    # The fields an agent always has: a PATCH may leave them out, not clear them (the document says so).
    NOT_NULL: ClassVar[tuple[str, ...]] = ("name", "is_enabled", "is_archived", "tools_enabled", "rag_enabled")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    prompt: str | None = Field(default=None, max_length=200_000)
    primary_model_provider: str | None = Field(default=None, max_length=64)
    primary_model: str | None = Field(default=None, max_length=200)
    primary_model_temperature: float | None = Field(default=None, json_schema_extra=TEMPERATURE)
    max_tokens: int | None = Field(default=None, json_schema_extra=MAX_TOKENS)
    persona_id: UUID | None = None
    is_enabled: bool | None = None
    is_archived: bool | None = None
    tools_enabled: list[UUID] | None = Field(default=None, max_length=200)
    rag_enabled: list[UUID] | None = Field(
        default=None, max_length=200, description="the knowledge bases the agent may search"
    )


class AgentVersion(BaseModel):
    agent_id: UUID
    version: int
    snapshot: dict[str, Any]
    created_by: UUID | None
    created_at: datetime


class AgentRef(BaseModel):
    id: UUID


class AgentName(BaseModel):
    id: UUID
    name: str


class ToolRef(BaseModel):
    id: UUID


class KnowledgeBaseRef(BaseModel):
    id: UUID


class AgentThread(BaseModel):
    id: UUID
    user_id: UUID
