"""Channels: the ways an org's agents are reached, as rows and as the import writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

# The table's check channels_kind_check.
ChannelKind = Literal["web", "api", "slack", "discord"]


class Channel(BaseModel):
    id: UUID
    org_id: UUID
    name: str
    kind: ChannelKind
    agent_id: UUID | None
    settings: dict[str, Any]
    is_enabled: bool
    created_at: datetime
    updated_at: datetime


class ChannelFields(BaseModel):
    """What a channel is made of: everything an import writes."""

    name: str
    kind: ChannelKind
    agent_id: UUID | None = None
    settings: dict[str, Any] = {}
    is_enabled: bool = True
