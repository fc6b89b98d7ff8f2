"""Writes made once per Idempotency-Key: the key's lock, its stored answer or a refusal, and the purge of old answers.

A request with a key runs in one transaction (web/idempotent.py opens it): lock the key (taken: another request
with it is in flight, 409), look for its stored answer (found: replay it, or 422 when the body differs), else
write, store the answer and commit both at once. So a retry can never write twice: until the first request
commits, its key is locked; once it has, its answer is there; had it failed or crashed before committing,
nothing of it is left and the retry writes once. And nothing acknowledged is lost: the answer goes out only after
the commit. Only successful answers are stored: an error wrote nothing, and a retry may well succeed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agentpress.models.idempotency_keys import StoredAnswer
from agentpress.repositories import idempotency_keys
from agentpress.services.polling import poll
from agentpress.web.errors import ApiError, FieldError, field_error

log = logging.getLogger("agentpress.idempotency")

HEADER = "Idempotency-Key"
# How long an answer is replayed: a client retries within minutes; a day covers a worker down overnight.
KEEP_FOR = timedelta(days=1)
# What a request that finds its key in flight waits before retrying: the writes keyed are single transactions
# of milliseconds.
RETRY_AFTER_SECONDS = 1
# The purge: expired answers deleted per statement at most, and how often each process looks (at once again
# after a full batch). Every process purges, without a leader: SKIP LOCKED keeps them off each other's rows.
PURGE_BATCH = 1000
PURGE_SECONDS = 60.0


@dataclass(frozen=True)
class KeyedRequest:
    """A request sent with an Idempotency-Key: who sent it where, the key, and the SHA-256 of its body."""

    org_id: UUID
    principal_id: UUID
    route: str
    idempotency_key: str
    request_hash: bytes

    def ids(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "principal_id": self.principal_id,
            "route": self.route,
            "idempotency_key": self.idempotency_key,
        }


async def claim(conn: AsyncConnection[Any], request: KeyedRequest) -> StoredAnswer | None:
    """In the request's transaction: lock the key and return its stored answer, or None to go ahead and write.

    409 with Retry-After while another request with the key is in flight; 422 when the key's answer was to
    another body.
    """
    if not await idempotency_keys.lock_idempotency_key(conn, **request.ids()):
        detail = "a request with this key is in flight: retry when it has finished"
        raise ApiError(
            409,
            "idempotency_key_in_flight",
            f"{HEADER} {detail}",
            [FieldError(field=HEADER, message=detail)],
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    stored = await idempotency_keys.get_idempotency_key(conn, **request.ids())
    if stored is not None and stored.request_hash != request.request_hash:
        raise field_error(
            422,
            "idempotency_key_reused",
            HEADER,
            f"was used for a request with another body at {stored.created_at.isoformat()}: a key names one "
            "request, so send a new key with a new body",
        )
    return stored


async def store(
    conn: AsyncConnection[Any], request: KeyedRequest, *, status_code: int, headers: dict[str, str], body: bytes
) -> None:
    """Store the answer in the transaction of its write, under the key's lock (so the key has no live answer)."""
    stored = await idempotency_keys.create_idempotency_key(
        conn,
        **request.ids(),
        request_hash=request.request_hash,
        status_code=status_code,
        headers=headers,
        body=body,
        keep_for=KEEP_FOR,
    )
    if not stored:  # the lock rules it out; refuse rather than answer twice differently
        raise RuntimeError(f"the idempotency key of {request.route} already has an answer")


async def purge_expired(conn: AsyncConnection[Any]) -> int:
    """Delete one batch of expired answers (autocommitted); how many."""
    return await idempotency_keys.delete_expired_idempotency_keys(conn, limit=PURGE_BATCH)


async def run_purge_loop(pool: AsyncConnectionPool[Any]) -> None:
    """Purge expired answers every PURGE_SECONDS until cancelled (at once again after a full batch)."""

    async def purge() -> bool:
        async with pool.connection() as conn:
            return await purge_expired(conn) >= PURGE_BATCH

    await poll("idempotency key purge", purge, every=PURGE_SECONDS, log=log)
