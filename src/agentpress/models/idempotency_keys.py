"""The stored first answer to a request sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class StoredAnswer(BaseModel):
    request_hash: bytes  # SHA-256 of the body it answered
    status_code: int
    headers: dict[str, str]  # the ones a replay repeats, by lower-case name
    body: bytes
    created_at: datetime
