"""Rows about the service's own state."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AppliedMigration(BaseModel):
    # yoyo's own table declares these columns nullable, though yoyo always fills them.
    migration_id: str | None
    applied_at_utc: datetime | None


class ReplicationStatus(BaseModel):
    is_standby: bool
    replay_lag_bytes: int | None
    replay_lag_seconds: float | None


class SessionSetting(BaseModel):
    # pg_settings is a view: PostgreSQL reports its columns nullable, though every row has both.
    name: str | None
    setting: str | None
