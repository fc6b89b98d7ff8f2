"""Personas: reusable tone, style and prompt for agents."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from psycopg import errors as pg

from agentpress.models.agents import AgentName
from agentpress.models.personas import Persona, PersonaCreate, PersonaUpdate
from agentpress.repositories import agents, personas
from agentpress.services.patching import lock_merge_write, sent
from agentpress.web.access import Org
from agentpress.web.dependencies import Conn
from agentpress.web.errors import ApiError, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset

PERSONA_PATH = "/{persona_id:uuid}"


def _persona_in_use(users: list[AgentName]) -> ApiError:
    names = ", ".join(agent.name for agent in users)
    # The agents may have let go of it between the refused delete and the lookup: then say so plainly.
    used_by = f"agents {names}" if names else "agents"
    return ApiError(409, "still_referenced", f"the persona is used by {used_by}; give them another persona first")


class PersonasController(Controller):
    path = "/personas"
    tags = ["personas"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/", operation_id="list_personas", summary="The org's personas, newest first")
    async def list_personas(
        self,
        conn: Conn,
        org: Org,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[Persona]:
        items, total = await personas.list_personas(
            conn, org_id=org.org_id, limit=page_size, offset=offset(page, page_size)
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post("/", operation_id="create_persona", summary="Create a persona (owners and admins)")
    async def create_persona(self, conn: Conn, org: Org, data: JSONBody[PersonaCreate]) -> Persona:
        org.require_manager()
        return await personas.create_persona(
            conn,
            org_id=org.org_id,
            name=data.name,
            description=data.description,
            prompt=data.prompt,
            style=data.style,
            avatar_url=data.avatar_url,
        )

    @get(PERSONA_PATH, operation_id="get_persona", summary="A persona of the org")
    async def get_persona(self, conn: Conn, org: Org, persona_id: FromPath[UUID]) -> Persona:
        persona = await personas.get_persona(conn, org_id=org.org_id, persona_id=persona_id)
        if persona is None:
            raise not_found("persona")
        return persona

    @patch(
        PERSONA_PATH,
        operation_id="update_persona",
        summary="Change some of a persona's fields (owners and admins); null clears an optional one",
    )
    async def update_persona(
        self, conn: Conn, org: Org, persona_id: FromPath[UUID], data: JSONBody[PersonaUpdate]
    ) -> Persona:
        org.require_manager()
        return await lock_merge_write(
            conn,
            lock=lambda: personas.get_persona_for_update(conn, org_id=org.org_id, persona_id=persona_id),
            merge=sent(data.model_dump(exclude_unset=True)),
            write=lambda _, merged: personas.update_persona(
                conn,
                org_id=org.org_id,
                persona_id=persona_id,
                name=merged.name,
                description=merged.description,
                prompt=merged.prompt,
                style=merged.style,
                avatar_url=merged.avatar_url,
            ),
            missing=not_found("persona"),
        )

    @delete(
        PERSONA_PATH,
        operation_id="delete_persona",
        summary="Delete a persona (owners and admins); 409 naming the agents while any use it",
    )
    async def delete_persona(self, conn: Conn, org: Org, persona_id: FromPath[UUID]) -> None:
        org.require_manager()
        try:
            deleted = await personas.delete_persona(conn, org_id=org.org_id, persona_id=persona_id)
        except pg.ForeignKeyViolation as exc:
            # The foreign key refuses race-free; the lookup afterwards only tells the client which agents.
            if exc.diag.constraint_name != "agents_persona_id_fkey":
                raise
            users = await agents.list_agents_using_persona(conn, org_id=org.org_id, persona_id=persona_id)
            raise _persona_in_use(users) from None
        if not deleted:
            raise not_found("persona")
