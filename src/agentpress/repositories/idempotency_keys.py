"""Idempotency keys: the lock of a key in flight, and the stored answers to keys, kept a while."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from agentpress.db.queries import queries
from agentpress.models.idempotency_keys import StoredAnswer


async def lock_idempotency_key(
    conn: AsyncConnection[Any], *, org_id: UUID, principal_id: UUID, route: str, idempotency_key: str
) -> bool:
    """Hold the key's lock until the transaction ends; False when another transaction holds it."""
    return await queries.idempotency_keys.lock_idempotency_key.scalar_required(
        conn, bool, org_id=org_id, principal_id=principal_id, route=route, idempotency_key=idempotency_key
    )


async def get_idempotency_key(
    conn: AsyncConnection[Any], *, org_id: UUID, principal_id: UUID, route: str, idempotency_key: str
) -> StoredAnswer | None:
    return await queries.idempotency_keys.get_idempotency_key.one(
        conn, StoredAnswer, org_id=org_id, principal_id=principal_id, route=route, idempotency_key=idempotency_key
    )


async def create_idempotency_key(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    principal_id: UUID,
    route: str,
    idempotency_key: str,
    request_hash: bytes,
    status_code: int,
    headers: dict[str, str],
    body: bytes,
    keep_for: timedelta,
) -> bool:
    """Store an answer; False when the key has a live one already (its lock's holder never sees that)."""
    stored = await queries.idempotency_keys.create_idempotency_key.execrows(
        conn,
        org_id=org_id,
        principal_id=principal_id,
        route=route,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        status_code=status_code,
        headers=Jsonb(headers),
        body=body,
        keep_for=keep_for,
    )
    return stored == 1


async def delete_expired_idempotency_keys(conn: AsyncConnection[Any], *, limit: int) -> int:
    return await queries.idempotency_keys.delete_expired_idempotency_keys.execrows(conn, limit=limit)
