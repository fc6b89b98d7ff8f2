"""Mail waiting in the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

EmailKind = Literal["invitation", "password_reset", "email_verification", "oauth_linked"]


class OutboxEmail(BaseModel):
    id: UUID
    kind: EmailKind
    to_email: str
    subject: str
    body: bytes  # encrypted: see agentpress.services.mail.queue_email
    created_at: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None
