"""The embedding worker's view of the sources it embeds: what a claim returns, and a claimed source still current."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel


class ClaimedFreeformText(BaseModel):
    """A freeform text leased to the worker (status processing): what it chunks and embeds."""

    id: UUID
    org_id: UUID
    knowledge_base_id: UUID
    title: str
    content: str


class ClaimedTable(BaseModel):
    """A table leased to the worker (status processing): what it renders, chunks and embeds."""

    id: UUID
    org_id: UUID
    knowledge_base_id: UUID
    name: str
    columns: list[dict[str, Any]]
    rows: list[list[Any]]


class ClaimedSource(BaseModel):
    """A claimed source still holding the embedded content, locked until the transaction ends."""

    id: UUID
    org_id: UUID
    knowledge_base_id: UUID
