"""Org API keys, stored as the SHA-256 of their token only."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.api_keys import ApiKey, ServiceKey


async def create_api_key(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    name: str,
    token_hash: bytes,
    scopes: list[str],
    created_by: UUID | None,
    expires_at: datetime | None,
) -> ApiKey:
    return await queries.api_keys.create_api_key.one_required(
        conn,
        ApiKey,
        org_id=org_id,
        name=name,
        token_hash=token_hash,
        scopes=scopes,
        created_by=created_by,
        expires_at=expires_at,
    )


async def list_api_keys(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    """One page of the org's keys, newest first, and the total."""
    items = await queries.api_keys.list_api_keys.many(conn, ApiKey, org_id=org_id, limit=limit, offset=offset)
    total = await queries.api_keys.count_api_keys.scalar_required(conn, int, org_id=org_id)
    return items, total


async def revoke_api_key(conn: AsyncConnection[Any], *, org_id: UUID, api_key_id: UUID) -> ApiKey | None:
    return await queries.api_keys.revoke_api_key.one(conn, ApiKey, org_id=org_id, api_key_id=api_key_id)


async def get_api_key_for_token(conn: AsyncConnection[Any], *, token_hash: bytes) -> ServiceKey | None:
    """The live key behind a token hash; None when there is none, or it was revoked or has expired."""
    return await queries.api_keys.get_api_key_for_token.one(conn, ServiceKey, token_hash=token_hash)


async def touch_api_key(conn: AsyncConnection[Any], *, api_key_id: UUID) -> None:
    await queries.api_keys.touch_api_key.exec(conn, api_key_id=api_key_id)


async def list_api_key_token_hashes(
    conn: AsyncConnection[Any], *, org_id: UUID, api_key_id: UUID | None
) -> list[bytes]:
    """The token hashes of the org's keys (or of one), the org locked until the transaction ends."""
    return await queries.api_keys.list_api_key_token_hashes.scalar_required(
        conn, list[bytes], org_id=org_id, api_key_id=api_key_id
    )
