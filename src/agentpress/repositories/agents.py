"""Agents, their tools and knowledge bases, and their versions: every change is a new version in one transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.agents import (
    Agent,
    AgentFields,
    AgentName,
    AgentRef,
    AgentThread,
    AgentVersion,
    KnowledgeBaseRef,
    ToolRef,
)

# The fields of AgentFields kept in tables of their own (agent_tools, agent_knowledge_bases), not in agents.
REFERENCE_LISTS = {"tools_enabled", "rag_enabled"}


async def create_agent(
    conn: AsyncConnection[Any], *, org_id: UUID, fields: AgentFields, created_by: UUID | None
) -> Agent:
    """Insert an agent with its tools, its knowledge bases and version 1; call in a transaction (the caller's:
    services.agent_configs.create_agent, or an import's). A composition because these rows are one agent:
    save_agent_version writes the same set."""
    agent_id = await queries.agents.create_agent.scalar_required(
        conn, UUID, org_id=org_id, created_by=created_by, **fields.model_dump(exclude=REFERENCE_LISTS)
    )
    await set_agent_tools(conn, org_id=org_id, agent_id=agent_id, tool_ids=fields.tools_enabled)
    await set_agent_knowledge_bases(conn, org_id=org_id, agent_id=agent_id, knowledge_base_ids=fields.rag_enabled)
    await create_agent_versions(conn, org_id=org_id, agent_ids=[agent_id], created_by=created_by)
    return await queries.agents.get_agent.one_required(conn, Agent, org_id=org_id, agent_id=agent_id)


async def get_agent(conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID) -> Agent | None:
    return await queries.agents.get_agent.one(conn, Agent, org_id=org_id, agent_id=agent_id)


async def get_agent_for_update(conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID) -> Agent | None:
    """The agent, locked until the caller's transaction ends."""
    return await queries.agents.get_agent_for_update.one(conn, Agent, org_id=org_id, agent_id=agent_id)


async def save_agent_version(
    conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID, fields: AgentFields, created_by: UUID | None
) -> Agent:
    """Write the fields of an agent locked by get_agent_for_update as its next version; call in that transaction."""
    await queries.agents.update_agent.execrows(
        conn, org_id=org_id, agent_id=agent_id, **fields.model_dump(exclude=REFERENCE_LISTS)
    )
    await set_agent_tools(conn, org_id=org_id, agent_id=agent_id, tool_ids=fields.tools_enabled)
    await set_agent_knowledge_bases(conn, org_id=org_id, agent_id=agent_id, knowledge_base_ids=fields.rag_enabled)
    await create_agent_versions(conn, org_id=org_id, agent_ids=[agent_id], created_by=created_by)
    return await queries.agents.get_agent.one_required(conn, Agent, org_id=org_id, agent_id=agent_id)


async def set_agent_tools(conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID, tool_ids: list[UUID]) -> None:
    await queries.agents.set_agent_tools.exec(conn, org_id=org_id, agent_id=agent_id, tool_ids=tool_ids)


async def set_agent_knowledge_bases(
    conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID, knowledge_base_ids: list[UUID]
) -> None:
    await queries.agents.set_agent_knowledge_bases.exec(
        conn, org_id=org_id, agent_id=agent_id, knowledge_base_ids=knowledge_base_ids
    )


async def create_agent_versions(
    conn: AsyncConnection[Any], *, org_id: UUID, agent_ids: list[UUID], created_by: UUID | None
) -> None:
    await queries.agents.create_agent_versions.exec(conn, org_id=org_id, agent_ids=agent_ids, created_by=created_by)


async def remove_tool_from_agents(
    conn: AsyncConnection[Any], *, org_id: UUID, tool_id: UUID, created_by: UUID | None
) -> list[UUID]:
    """Take a tool off every agent of the org that has it, each getting a new version.

    Call inside the transaction that deletes the tool, before deleting it. Returns the agents changed.
    """
    bumped = await queries.agents.bump_agents_using_tool.many(conn, AgentRef, org_id=org_id, tool_id=tool_id)
    agent_ids = [agent.id for agent in bumped]
    await queries.agents.delete_tool_from_agents.execrows(conn, org_id=org_id, tool_id=tool_id)
    await create_agent_versions(conn, org_id=org_id, agent_ids=agent_ids, created_by=created_by)
    return agent_ids


async def remove_knowledge_base_from_agents(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, created_by: UUID | None
) -> list[UUID]:
    """Take a knowledge base off every agent of the org that has it, each getting a new version.

    Call inside the transaction that deletes the knowledge base, before deleting it. Returns the agents changed.
    """
    bumped = await queries.agents.bump_agents_using_knowledge_base.many(
        conn, AgentRef, org_id=org_id, knowledge_base_id=knowledge_base_id
    )
    agent_ids = [agent.id for agent in bumped]
    await queries.agents.delete_knowledge_base_from_agents.execrows(
        conn, org_id=org_id, knowledge_base_id=knowledge_base_id
    )
    await create_agent_versions(conn, org_id=org_id, agent_ids=agent_ids, created_by=created_by)
    return agent_ids


async def list_agents(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    pattern: str | None,
    is_archived: bool | None,
    is_enabled: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Agent], int]:
    """One page of the org's agents and the total, newest first; `pattern` is a LIKE pattern on the name."""
    filters: dict[str, Any] = {"org_id": org_id, "is_archived": is_archived, "is_enabled": is_enabled}
    if pattern is None:
        items = await queries.agents.list_agents.many(conn, Agent, limit=limit, offset=offset, **filters)
        total = await queries.agents.count_agents.scalar_required(conn, int, **filters)
    else:
        # A query of its own, not an `OR pattern IS NULL` branch: that would keep the planner
        # from the trigram index.
        items = await queries.agents.search_agents.many(
            conn, Agent, pattern=pattern, limit=limit, offset=offset, **filters
        )
        total = await queries.agents.count_agents_matching.scalar_required(conn, int, pattern=pattern, **filters)
    return items, total


async def list_agent_threads(conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID) -> list[AgentThread]:
    return await queries.agents.list_agent_threads.many(conn, AgentThread, org_id=org_id, agent_id=agent_id)


async def delete_agent(conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID) -> bool:
    """Delete the agent with its versions; False when the org has no such agent."""
    return await queries.agents.delete_agent.execrows(conn, org_id=org_id, agent_id=agent_id) == 1


async def list_agent_versions(
    conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID, limit: int, offset: int
) -> tuple[list[AgentVersion], int]:
    items = await queries.agents.list_agent_versions.many(
        conn, AgentVersion, org_id=org_id, agent_id=agent_id, limit=limit, offset=offset
    )
    total = await queries.agents.count_agent_versions.scalar_required(conn, int, org_id=org_id, agent_id=agent_id)
    return items, total


async def get_agent_version(
    conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID, version: int
) -> AgentVersion | None:
    return await queries.agents.get_agent_version.one(
        conn, AgentVersion, org_id=org_id, agent_id=agent_id, version=version
    )


async def list_org_tool_ids(conn: AsyncConnection[Any], *, org_id: UUID, tool_ids: list[UUID]) -> set[UUID]:
    """Which of these ids are tools of the org."""
    found = await queries.agents.list_org_tool_ids.many(conn, ToolRef, org_id=org_id, tool_ids=tool_ids)
    return {tool.id for tool in found}


async def list_org_knowledge_base_ids(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_ids: list[UUID]
) -> set[UUID]:
    """Which of these ids are knowledge bases of the org."""
    found = await queries.agents.list_org_knowledge_base_ids.many(
        conn, KnowledgeBaseRef, org_id=org_id, knowledge_base_ids=knowledge_base_ids
    )
    return {knowledge_base.id for knowledge_base in found}


async def has_org_persona(conn: AsyncConnection[Any], *, org_id: UUID, persona_id: UUID) -> bool:
    return await queries.agents.has_org_persona.scalar_required(conn, bool, org_id=org_id, persona_id=persona_id)


async def is_allowed_agent_model(
    conn: AsyncConnection[Any], *, org_id: UUID, primary_model: str, primary_model_provider: str | None
) -> bool:
    return await queries.agents.is_allowed_agent_model.scalar_required(
        conn, bool, org_id=org_id, primary_model=primary_model, primary_model_provider=primary_model_provider
    )


async def list_agents_using_persona(conn: AsyncConnection[Any], *, org_id: UUID, persona_id: UUID) -> list[AgentName]:
    return await queries.agents.list_agents_using_persona.many(conn, AgentName, org_id=org_id, persona_id=persona_id)
