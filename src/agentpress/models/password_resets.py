"""Password reset tokens and the requests that use them."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, Field


class PasswordReset(BaseModel):
    id: UUID
    user_id: UUID
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class QueuedPasswordReset(BaseModel):
    """A reset request waiting to be worked on: the address as it was asked for."""

    id: UUID
    email: str
    created_at: datetime


class PasswordResetRequest(BaseModel):
    email: str = Field(max_length=320)


class PasswordResetConfirm(BaseModel):
    # The password's least length is a setting (services/accounts.check_password_rules checks it); the
    # document shows the configured one (web/bodies.ContractSchemaPlugin).
    MIN_LENGTH_SETTINGS: ClassVar[dict[str, str]] = {"password": "password_min_length"}

    token: str = Field(min_length=1, max_length=128)
    password: str = Field(max_length=1024)
