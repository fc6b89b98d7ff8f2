"""Every stored ciphertext, page by page, and its replacement: what `agentpress secrets rotate` runs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.secrets import SealedOAuthState, SealedOAuthTokens, SealedOutboxBody, SealedProviderKey


async def list_sealed_outbox_bodies(conn: AsyncConnection[Any], *, after: UUID, limit: int) -> list[SealedOutboxBody]:
    return await queries.secrets.list_sealed_outbox_bodies.many(conn, SealedOutboxBody, after=after, limit=limit)


async def reseal_outbox_body(conn: AsyncConnection[Any], *, email_id: UUID, previous: bytes, ciphertext: bytes) -> bool:
    """False when the body changed since it was read."""
    return (
        await queries.secrets.reseal_outbox_body.execrows(
            conn, email_id=email_id, previous=previous, ciphertext=ciphertext
        )
        > 0
    )


async def list_sealed_provider_keys(conn: AsyncConnection[Any], *, after: UUID, limit: int) -> list[SealedProviderKey]:
    return await queries.secrets.list_sealed_provider_keys.many(conn, SealedProviderKey, after=after, limit=limit)


async def reseal_provider_key(
    conn: AsyncConnection[Any], *, provider_id: UUID, previous: bytes, ciphertext: bytes
) -> bool:
    """False when the key changed since it was read."""
    return (
        await queries.secrets.reseal_provider_key.execrows(
            conn, provider_id=provider_id, previous=previous, ciphertext=ciphertext
        )
        > 0
    )


async def list_sealed_oauth_tokens(conn: AsyncConnection[Any], *, after: UUID, limit: int) -> list[SealedOAuthTokens]:
    return await queries.secrets.list_sealed_oauth_tokens.many(conn, SealedOAuthTokens, after=after, limit=limit)


async def reseal_oauth_tokens(
    conn: AsyncConnection[Any],
    *,
    connection_id: UUID,
    previous_access_token: bytes | None,
    previous_refresh_token: bytes | None,
    access_token: bytes | None,
    refresh_token: bytes | None,
) -> bool:
    """False when either token changed since it was read."""
    changed = await queries.secrets.reseal_oauth_tokens.execrows(
        conn,
        connection_id=connection_id,
        previous_access_token=previous_access_token,
        previous_refresh_token=previous_refresh_token,
        access_token=access_token,
        refresh_token=refresh_token,
    )
    return changed > 0


async def list_sealed_oauth_states(conn: AsyncConnection[Any], *, after: bytes, limit: int) -> list[SealedOAuthState]:
    return await queries.secrets.list_sealed_oauth_states.many(conn, SealedOAuthState, after=after, limit=limit)


async def reseal_oauth_state(
    conn: AsyncConnection[Any], *, state_hash: bytes, previous: bytes, ciphertext: bytes
) -> bool:
    """False when the state was spent or changed since it was read."""
    changed = await queries.secrets.reseal_oauth_state.execrows(
        conn, state_hash=state_hash, previous=previous, ciphertext=ciphertext
    )
    return changed > 0
