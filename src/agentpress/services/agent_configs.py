"""Agents change only by versions: create, change, restore and delete one, and take a deleted tool or
knowledge base off the agents that have it; each in one transaction, with the agent's references held to its
org."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.models.agents import Agent, AgentFields, AgentThread, AgentUpdate
from agentpress.repositories import agents, knowledge_bases, tools
from agentpress.services.patching import lock_merge_write
from agentpress.web.errors import field_error, not_found

# The fields an agent always has: a PATCH may leave them out, not clear them.
REQUIRED_FIELDS = AgentUpdate.NOT_NULL


async def check_agent_fields(conn: AsyncConnection[Any], org_id: UUID, fields: AgentFields) -> None:
    """The references of an agent must be the org's own: each failure is a 422 naming the field.

    Ranges (temperature 0..2, max_tokens > 0) are the table's checks, mapped to 422 the same way.
    """
    if fields.tools_enabled:
        known = await agents.list_org_tool_ids(conn, org_id=org_id, tool_ids=fields.tools_enabled)
        unknown = [str(tool_id) for tool_id in fields.tools_enabled if tool_id not in known]
        if unknown:
            raise field_error(
                422, "invalid_reference", "tools_enabled", f"has no tool {', '.join(unknown)} in this org"
            )
    if fields.rag_enabled:
        known = await agents.list_org_knowledge_base_ids(conn, org_id=org_id, knowledge_base_ids=fields.rag_enabled)
        unknown = [str(kb_id) for kb_id in fields.rag_enabled if kb_id not in known]
        if unknown:
            raise field_error(
                422, "invalid_reference", "rag_enabled", f"has no knowledge base {', '.join(unknown)} in this org"
            )
    if fields.persona_id is not None and not await agents.has_org_persona(
        conn, org_id=org_id, persona_id=fields.persona_id
    ):
        raise field_error(422, "invalid_reference", "persona_id", "is not a persona of this org")
    if fields.primary_model is not None and not await agents.is_allowed_agent_model(
        conn, org_id=org_id, primary_model=fields.primary_model, primary_model_provider=fields.primary_model_provider
    ):
        raise field_error(422, "invalid_reference", "primary_model", "is not one of the org's enabled models")


async def create_agent(
    conn: AsyncConnection[Any], *, org_id: UUID, fields: AgentFields, created_by: UUID | None
) -> Agent:
    """Create an agent with its tools, its knowledge bases and version 1, all or nothing."""
    await check_agent_fields(conn, org_id, fields)
    async with conn.transaction():
        return await agents.create_agent(conn, org_id=org_id, fields=fields, created_by=created_by)


async def update_agent(
    conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID, changes: dict[str, Any], created_by: UUID | None
) -> Agent:
    """Change the fields sent (`changes`); the result is the agent's next version. Locked until commit:
    concurrent changes of one agent take turns, each its own version."""

    def merge(current: Agent) -> AgentFields:
        for required in REQUIRED_FIELDS:
            if changes.get(required, "") is None:
                raise field_error(400, "invalid_request", required, "may be left out but not null")
        return AgentFields.model_validate({**current.model_dump(include=set(AgentFields.model_fields)), **changes})

    return await lock_merge_write(
        conn,
        lock=lambda: agents.get_agent_for_update(conn, org_id=org_id, agent_id=agent_id),
        merge=merge,
        check=lambda _, fields: check_agent_fields(conn, org_id, fields),
        write=lambda _, fields: agents.save_agent_version(
            conn, org_id=org_id, agent_id=agent_id, fields=fields, created_by=created_by
        ),
        missing=not_found("agent"),
    )


async def restore_agent_version(
    conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID, version: int, created_by: UUID | None
) -> Agent:
    """Make an agent what it was at a version; the result is its next version."""
    async with conn.transaction():
        if await agents.get_agent_for_update(conn, org_id=org_id, agent_id=agent_id) is None:
            raise not_found("agent")
        found = await agents.get_agent_version(conn, org_id=org_id, agent_id=agent_id, version=version)
        if found is None:
            raise not_found("agent version")
        fields = AgentFields.model_validate(found.snapshot)
        # Tools and knowledge bases deleted since then cannot come back; the persona and model must
        # still be valid.
        known = await agents.list_org_tool_ids(conn, org_id=org_id, tool_ids=fields.tools_enabled)
        fields.tools_enabled = [tool_id for tool_id in fields.tools_enabled if tool_id in known]
        known_kbs = await agents.list_org_knowledge_base_ids(conn, org_id=org_id, knowledge_base_ids=fields.rag_enabled)
        fields.rag_enabled = [kb_id for kb_id in fields.rag_enabled if kb_id in known_kbs]
        await check_agent_fields(conn, org_id, fields)
        return await agents.save_agent_version(
            conn, org_id=org_id, agent_id=agent_id, fields=fields, created_by=created_by
        )


async def delete_agent(conn: AsyncConnection[Any], *, org_id: UUID, agent_id: UUID) -> list[AgentThread] | None:
    """Delete the agent with its versions; the threads that used it (they keep going without it, and their
    cached copies need invalidating), or None if there was no agent."""
    async with conn.transaction():
        # Locked first: a thread given this agent meanwhile waits, and is then listed or refused.
        if await agents.get_agent_for_update(conn, org_id=org_id, agent_id=agent_id) is None:
            return None
        agent_threads = await agents.list_agent_threads(conn, org_id=org_id, agent_id=agent_id)
        if not await agents.delete_agent(conn, org_id=org_id, agent_id=agent_id):
            return None
    return agent_threads


async def delete_tool(
    conn: AsyncConnection[Any], *, org_id: UUID, tool_id: UUID, deleted_by: UUID | None
) -> list[UUID] | None:
    """Take a tool off every agent that has it (each gets a new version) and delete it, all or nothing.

    Returns the agents changed, or None when the org has no such tool.
    """
    async with conn.transaction():
        # The lock keeps agents from being given the tool between taking it off them and deleting it:
        # the cascade would otherwise drop it from them without a version saying so.
        if await tools.get_tool_for_update(conn, org_id=org_id, tool_id=tool_id) is None:
            return None
        changed = await agents.remove_tool_from_agents(conn, org_id=org_id, tool_id=tool_id, created_by=deleted_by)
        await tools.delete_tool(conn, org_id=org_id, tool_id=tool_id)
    return changed


async def delete_knowledge_base(
    conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, deleted_by: UUID | None
) -> list[UUID] | None:
    """Take a knowledge base off every agent that has it (each gets a new version) and delete it with its
    sources and their embeddings, all or nothing.

    Returns the agents changed, or None when the org has no such knowledge base.
    """
    async with conn.transaction():
        # The lock keeps agents from being given the knowledge base between taking it off them and
        # deleting it: the cascade would otherwise drop it from them without a version saying so.
        locked = await knowledge_bases.get_knowledge_base_for_update(
            conn, org_id=org_id, knowledge_base_id=knowledge_base_id
        )
        if locked is None:
            return None
        changed = await agents.remove_knowledge_base_from_agents(
            conn, org_id=org_id, knowledge_base_id=knowledge_base_id, created_by=deleted_by
        )
        await knowledge_bases.delete_knowledge_base(conn, org_id=org_id, knowledge_base_id=knowledge_base_id)
    return changed
