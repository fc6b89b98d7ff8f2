"""OAuth: sign-ins in flight and provider accounts linked to users."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.oauth import OAuthConnection, OAuthProvider, OAuthState


async def create_oauth_state(
    conn: AsyncConnection[Any],
    *,
    state_hash: bytes,
    provider: OAuthProvider,
    code_verifier: bytes,
    browser_hash: bytes,
    user_id: UUID | None,
    expires_at: datetime,
) -> None:
    await queries.oauth.create_oauth_state.exec(
        conn,
        state_hash=state_hash,
        provider=provider,
        code_verifier=code_verifier,
        browser_hash=browser_hash,
        user_id=user_id,
        expires_at=expires_at,
    )


async def delete_expired_oauth_states(conn: AsyncConnection[Any]) -> int:
    return await queries.oauth.delete_expired_oauth_states.execrows(conn)


async def consume_oauth_state(
    conn: AsyncConnection[Any], *, state_hash: bytes, browser_hash: bytes, provider: OAuthProvider
) -> OAuthState | None:
    return await queries.oauth.consume_oauth_state.one(
        conn, OAuthState, state_hash=state_hash, browser_hash=browser_hash, provider=provider
    )


async def get_oauth_connection(
    conn: AsyncConnection[Any], *, provider: OAuthProvider, provider_id: str
) -> OAuthConnection | None:
    return await queries.oauth.get_oauth_connection.one(
        conn, OAuthConnection, provider=provider, provider_id=provider_id
    )


async def upsert_oauth_connection(
    conn: AsyncConnection[Any],
    *,
    user_id: UUID,
    provider: OAuthProvider,
    provider_id: str,
    access_token: bytes,
    refresh_token: bytes | None,
    scopes: list[str],
    expires_at: datetime | None,
) -> OAuthConnection | None:
    """The connection, or None when the provider account is linked to another user."""
    return await queries.oauth.upsert_oauth_connection.one(
        conn,
        OAuthConnection,
        user_id=user_id,
        provider=provider,
        provider_id=provider_id,
        access_token=access_token,
        refresh_token=refresh_token,
        scopes=scopes,
        expires_at=expires_at,
    )


async def delete_unverified_oauth_links(conn: AsyncConnection[Any], *, user_id: UUID) -> int:
    """Remove the user's links made while their email was unverified, and the provider ids they set; how many."""
    return await queries.oauth.delete_unverified_oauth_links.scalar_required(conn, int, user_id=user_id)


async def delete_oauth_states_for_user(conn: AsyncConnection[Any], *, user_id: UUID) -> int:
    return await queries.oauth.delete_oauth_states_for_user.execrows(conn, user_id=user_id)
