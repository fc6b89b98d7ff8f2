"""A message found by full-text search: where it is, how well it matches, and a highlighted snippet."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from agentpress.models.messages import Role


class MessageSearchResult(BaseModel):
    id: UUID
    thread_id: UUID
    thread_name: str
    agent_id: UUID | None
    role: Role
    created_at: datetime
    rank: float = Field(description="How well the message matches, from 0 to 1; results come best first")
    snippet: str = Field(
        description=(
            "The best fragments of the message's text around the matches, HTML-escaped, with each match "
            "wrapped in <mark>...</mark>: safe to insert as HTML"
        )
    )


class MessageSearchRow(MessageSearchResult):
    """A row of search_messages: the result and the total of the matches, which the page reports once."""

    total: int
