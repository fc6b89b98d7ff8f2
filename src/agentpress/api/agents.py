"""Agents and their versions: every change, restore included, is a new version."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from agentpress.models.agents import Agent, AgentCreate, AgentFields, AgentUpdate, AgentVersion
from agentpress.repositories import agents, threads
from agentpress.services import agent_configs
from agentpress.web.access import Org
from agentpress.web.dependencies import CacheDep, Conn
from agentpress.web.errors import not_found
from agentpress.web.idempotent import idempotent
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, contains_pattern, offset

AGENT_PATH = "/{agent_id:uuid}"
VERSION_PATH = "/{agent_id:uuid}/versions/{version:int}"


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

    @post("/", operation_id="create_agent", summary="Create an agent (version 1)", **idempotent())
    async def create_agent(self, conn: Conn, org: Org, data: JSONBody[AgentCreate]) -> Agent:
        org.require_manager()
        fields = AgentFields.model_validate(data.model_dump())
        return await agent_configs.create_agent(conn, org_id=org.org_id, fields=fields, created_by=org.user.id)

    @get(AGENT_PATH, operation_id="get_agent", summary="An agent, with its tools, knowledge bases and current version")
    async def get_agent(self, conn: Conn, org: Org, agent_id: FromPath[UUID]) -> Agent:
        agent = await agents.get_agent(conn, org_id=org.org_id, agent_id=agent_id)
        if agent is None:
            raise not_found("agent")
        return agent

    @patch(AGENT_PATH, operation_id="update_agent", summary="Change an agent; the result is its next version")
    async def update_agent(self, conn: Conn, org: Org, agent_id: FromPath[UUID], data: JSONBody[AgentUpdate]) -> Agent:
        org.require_manager()
        return await agent_configs.update_agent(
            conn,
            org_id=org.org_id,
            agent_id=agent_id,
            changes=data.model_dump(exclude_unset=True),
            created_by=org.user.id,
        )

    @delete(AGENT_PATH, operation_id="delete_agent", summary="Delete an agent with its versions")
    async def delete_agent(self, conn: Conn, cache: CacheDep, org: Org, agent_id: FromPath[UUID]) -> None:
        org.require_manager()
        agent_threads = await agent_configs.delete_agent(conn, org_id=org.org_id, agent_id=agent_id)
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
        return await agent_configs.restore_agent_version(
            conn, org_id=org.org_id, agent_id=agent_id, version=version, created_by=org.user.id
        )
