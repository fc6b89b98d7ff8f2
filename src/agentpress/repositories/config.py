"""What the configuration import and export need beyond the domains' repositories: tree ids, key sources, locking."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.config import AgentConfigId, ModelProviderApiKey
from agentpress.models.orgs import Org


async def get_default_org(conn: AsyncConnection[Any]) -> Org | None:
    return await queries.config.get_default_org.one(conn, Org)


async def lock_org_config(conn: AsyncConnection[Any], *, org_id: UUID) -> None:
    """Wait for other imports into the org; call inside the import's transaction, which holds the lock."""
    await queries.config.lock_org_config.exec(conn, org_id=org_id)


async def list_agent_config_ids(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> list[AgentConfigId]:
    return await queries.config.list_agent_config_ids.many(
        conn, AgentConfigId, org_id=org_id, limit=limit, offset=offset
    )


async def create_agent_config_id(conn: AsyncConnection[Any], *, org_id: UUID, config_id: str, agent_id: UUID) -> None:
    await queries.config.create_agent_config_id.exec(conn, org_id=org_id, config_id=config_id, agent_id=agent_id)


async def list_model_provider_api_keys(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> list[ModelProviderApiKey]:
    return await queries.config.list_model_provider_api_keys.many(
        conn, ModelProviderApiKey, org_id=org_id, limit=limit, offset=offset
    )


async def set_model_provider_api_key_env(
    conn: AsyncConnection[Any], *, org_id: UUID, provider_id: UUID, api_key_env: str | None
) -> bool:
    """False when the org has no such provider."""
    changed: int = await queries.config.set_model_provider_api_key_env.execrows(
        conn, org_id=org_id, provider_id=provider_id, api_key_env=api_key_env
    )
    return changed > 0
