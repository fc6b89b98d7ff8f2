"""Rows about the service's own state."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AppliedMigration(BaseModel):
    migration_id: str
    applied_at_utc: datetime
