"""Agents and their versions: every change, restore included, is a new version."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from psycopg import AsyncConnection

from agentpress.models.agents import Agent, AgentCreate, AgentFields, AgentUpdate, AgentVersion
from agentpress.repositories import agents, threads
from agentpress.web.access import Org, OrgContext
from agentpress.web.dependencies import CacheDep, Conn
from agentpress.web.errors import field_error, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, contains_pattern, offset

AGENT_PATH = "/{agent_id:uuid}"
VERSION_PATH = "/{agent_id:uuid}/versions/{version:int}"


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


async def _locked_agent(conn: AsyncConnection[Any], org: OrgContext, agent_id: UUID) -> Agent:
    agent = await agents.get_agent_for_update(conn, org_id=org.org_id, agent_id=agent_id)
    if agent is None:
        raise not_found("agent")
    return agent


class AgentsController(Controller):
    path = "/agents"
    tags = ["agents"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/", operation_id="list_agents", summary="The org's agents, newest first; `search` matches the name")
    async def list_agents(
        self,
        conn: Conn,
        org: Org,
        search: FromQuery[str | None] = None,
        is_archived: FromQuery[bool | None] = None,
        is_enabled: FromQuery[bool | None] = None,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[Agent]:
        items, total = await agents.list_agents(
            conn,
            org_id=org.org_id,
            pattern=contains_pattern(search) if search else None,
            is_archived=is_archived,
            is_enabled=is_enabled,
            limit=page_size,
            offset=offset(page, page_size),
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post("/", operation_id="create_agent", summary="Create an agent (version 1)")
    async def create_agent(self, conn: Conn, org: Org, data: JSONBody[AgentCreate]) -> Agent:
        org.require_manager()
        fields = AgentFields.model_validate(data.model_dump())
        await check_agent_fields(conn, org.org_id, fields)
        return await agents.create_agent(conn, org_id=org.org_id, fields=fields, created_by=org.user.id)

    @get(AGENT_PATH, operation_id="get_agent", summary="An agent, with its tools, knowledge bases and current version")
    async def get_agent(self, conn: Conn, org: Org, agent_id: FromPath[UUID]) -> Agent:
        agent = await agents.get_agent(conn, org_id=org.org_id, agent_id=agent_id)
        if agent is None:
            raise not_found("agent")
        return agent

    @patch(AGENT_PATH, operation_id="update_agent", summary="Change an agent; the result is its next version")
    async def update_agent(self, conn: Conn, org: Org, agent_id: FromPath[UUID], data: JSONBody[AgentUpdate]) -> Agent:
        org.require_manager()
        async with conn.transaction():
            # Locked until commit: concurrent changes of one agent take turns, each its own version.
            current = await _locked_agent(conn, org, agent_id)
            changes = data.model_dump(exclude_unset=True)
            for required in ("name", "is_enabled", "is_archived", "tools_enabled", "rag_enabled"):
                if changes.get(required, "") is None:
                    raise field_error(400, "invalid_request", required, "may be left out but not null")
            fields = AgentFields.model_validate(
                {**current.model_dump(include=set(AgentFields.model_fields)), **changes}
            )
            await check_agent_fields(conn, org.org_id, fields)
            return await agents.save_agent_version(
                conn, org_id=org.org_id, agent_id=agent_id, fields=fields, created_by=org.user.id
            )

    @delete(AGENT_PATH, operation_id="delete_agent", summary="Delete an agent with its versions")
    async def delete_agent(self, conn: Conn, cache: CacheDep, org: Org, agent_id: FromPath[UUID]) -> None:
        org.require_manager()
        agent_threads = await agents.delete_agent(conn, org_id=org.org_id, agent_id=agent_id)
        if agent_threads is None:
            raise not_found("agent")
        # Their threads lost the agent (ON DELETE SET NULL): cached copies would still name it.
        await cache.invalidate(
            *(
                threads.thread_cache_key(org_id=org.org_id, user_id=thread.user_id, thread_id=thread.id)
                for thread in agent_threads
            )
        )

    @get(f"{AGENT_PATH}/versions", operation_id="list_agent_versions", summary="An agent's versions, newest first")
    async def list_versions(
        self,
        conn: Conn,
        org: Org,
        agent_id: FromPath[UUID],
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[AgentVersion]:
        if await agents.get_agent(conn, org_id=org.org_id, agent_id=agent_id) is None:
            raise not_found("agent")
        items, total = await agents.list_agent_versions(
            conn, org_id=org.org_id, agent_id=agent_id, limit=page_size, offset=offset(page, page_size)
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @get(VERSION_PATH, operation_id="get_agent_version", summary="One version of an agent")
    async def get_version(self, conn: Conn, org: Org, agent_id: FromPath[UUID], version: FromPath[int]) -> AgentVersion:
        found = await agents.get_agent_version(conn, org_id=org.org_id, agent_id=agent_id, version=version)
        if found is None:
            raise not_found("agent version")
        return found

    @post(
        f"{VERSION_PATH}/restore",
        operation_id="restore_agent_version",
        summary="Make an agent what it was at a version; the result is its next version",
        status_code=200,
    )
    async def restore_version(self, conn: Conn, org: Org, agent_id: FromPath[UUID], version: FromPath[int]) -> Agent:
        org.require_manager()
        async with conn.transaction():
            await _locked_agent(conn, org, agent_id)
            found = await agents.get_agent_version(conn, org_id=org.org_id, agent_id=agent_id, version=version)
            if found is None:
                raise not_found("agent version")
            fields = AgentFields.model_validate(found.snapshot)
            # Tools and knowledge bases deleted since then cannot come back; the persona and model must
            # still be valid.
            known = await agents.list_org_tool_ids(conn, org_id=org.org_id, tool_ids=fields.tools_enabled)
            fields.tools_enabled = [tool_id for tool_id in fields.tools_enabled if tool_id in known]
            known_kbs = await agents.list_org_knowledge_base_ids(
                conn, org_id=org.org_id, knowledge_base_ids=fields.rag_enabled
            )
            fields.rag_enabled = [kb_id for kb_id in fields.rag_enabled if kb_id in known_kbs]
            await check_agent_fields(conn, org.org_id, fields)
            return await agents.save_agent_version(
                conn, org_id=org.org_id, agent_id=agent_id, fields=fields, created_by=org.user.id
            )
