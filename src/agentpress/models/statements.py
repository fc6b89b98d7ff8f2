"""Statement statistics from pg_stat_statements, as `agentpress db top` shows them."""

from __future__ import annotations

from pydantic import BaseModel


class TopStatement(BaseModel):
    # Null when the server could not read the text back (pg_stat_statements keeps texts in a file).
    query: str | None
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
