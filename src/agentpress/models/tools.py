"""Tools agents may call, each with a JSON Schema of its arguments."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

ToolKind = Literal["function", "http", "mcp"]
# The table's check tools_name_check: the name an LLM calls the tool by.
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class Tool(BaseModel):
    id: UUID
    org_id: UUID
    name: str
    description: str | None
    kind: ToolKind
    parameters: dict[str, Any]
    config: dict[str, Any]
    is_enabled: bool
    created_at: datetime
    updated_at: datetime


class ToolCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=10_000)
    kind: ToolKind
    parameters: dict[str, Any] = Field(
        default={"type": "object"}, description="A JSON Schema of the tool's arguments (2020-12 unless $schema says)"
    )
    config: dict[str, Any] = {}
    is_enabled: bool = True


class ToolUpdate(BaseModel):
    """A partial change: fields left out keep their value; description sent as null is cleared."""

    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=10_000)
    kind: ToolKind | None = None
    parameters: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    is_enabled: bool | None = None

    @field_validator("name", "kind", "parameters", "config", "is_enabled")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for fields the client sent: these columns are NOT NULL, so null cannot clear them.
        if value is None:
            raise PydanticCustomError("not_null", "may be left out but not null")
        return value
