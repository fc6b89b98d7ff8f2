"""Email verification tokens and the requests that use them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class EmailVerification(BaseModel):
    """A verification token as stored: never the token or its hash."""

    id: UUID
    user_id: UUID
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class EmailVerificationConfirm(BaseModel):
    # new_token() makes 43 characters; anything much longer was never issued.
    token: str = Field(min_length=1, max_length=128)
