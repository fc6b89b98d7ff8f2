"""Tools agents may call: functions, HTTP endpoints and MCP servers, each with a JSON Schema of its arguments."""

from __future__ import annotations

from typing import Any
from uuid import UUID

# jsonschema ships no type hints, and its stubs (types-jsonschema) are not a dependency.
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from agentpress.models.tools import Tool, ToolCreate, ToolKind, ToolUpdate
from agentpress.repositories import tools
from agentpress.services import agent_configs
from agentpress.services.patching import lock_merge_write, sent
from agentpress.web.access import Org
from agentpress.web.dependencies import Conn
from agentpress.web.errors import field_error, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset

TOOL_PATH = "/{tool_id:uuid}"


def _check_parameters(schema: dict[str, Any]) -> None:
    """A tool's parameters must be a valid JSON Schema of its dialect ($schema, else 2020-12); 422 otherwise."""
    if "$schema" in schema and not isinstance(schema["$schema"], str):
        # jsonschema looks $schema up as a URI and fails with a TypeError on anything else.
        raise field_error(422, "invalid_value", "parameters", "is not a valid JSON Schema: $schema must be a URI")
    validator = validator_for(schema, default=Draft202012Validator)
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        raise field_error(
            422, "invalid_value", "parameters", f"is not a valid JSON Schema: {exc.message} (at {exc.json_path})"
        ) from None


class ToolsController(Controller):
    path = "/tools"
    tags = ["tools"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/", operation_id="list_tools", summary="The org's tools by name, optionally of one kind, enabled or not")
    async def list_tools(
        self,
        conn: Conn,
        org: Org,
        kind: FromQuery[ToolKind | None] = None,
        is_enabled: FromQuery[bool | None] = None,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[Tool]:
        items, total = await tools.list_tools(
            conn,
            org_id=org.org_id,
            kind=kind,
            is_enabled=is_enabled,
            limit=page_size,
            offset=offset(page, page_size),
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post("/", operation_id="create_tool", summary="Create a tool (owners and admins); names are unique in the org")
    async def create_tool(self, conn: Conn, org: Org, data: JSONBody[ToolCreate]) -> Tool:
        org.require_manager()
        _check_parameters(data.parameters)
        # A name the org already uses fails tools_org_id_name_key: 409 naming name, through the error mapping.
        return await tools.create_tool(
            conn,
            org_id=org.org_id,
            name=data.name,
            description=data.description,
            kind=data.kind,
            parameters=data.parameters,
            config=data.config,
            is_enabled=data.is_enabled,
        )

    @get(TOOL_PATH, operation_id="get_tool", summary="A tool of the org")
    async def get_tool(self, conn: Conn, org: Org, tool_id: FromPath[UUID]) -> Tool:
        tool = await tools.get_tool(conn, org_id=org.org_id, tool_id=tool_id)
        if tool is None:
            raise not_found("tool")
        return tool

    @patch(
        TOOL_PATH,
        operation_id="update_tool",
        summary="Change some of a tool's fields (owners and admins); null clears the description",
    )
    async def update_tool(self, conn: Conn, org: Org, tool_id: FromPath[UUID], data: JSONBody[ToolUpdate]) -> Tool:
        org.require_manager()
        if data.parameters is not None:
            _check_parameters(data.parameters)
        return await lock_merge_write(
            conn,
            lock=lambda: tools.get_tool_for_update(conn, org_id=org.org_id, tool_id=tool_id),
            merge=sent(data.model_dump(exclude_unset=True)),
            write=lambda _, merged: tools.update_tool(
                conn,
                org_id=org.org_id,
                tool_id=tool_id,
                name=merged.name,
                description=merged.description,
                kind=merged.kind,
                parameters=merged.parameters,
                config=merged.config,
                is_enabled=merged.is_enabled,
            ),
            missing=not_found("tool"),
        )

    @delete(
        TOOL_PATH,
        operation_id="delete_tool",
        summary="Delete a tool (owners and admins); every agent that has it loses it and gets a new version",
    )
    async def delete_tool(self, conn: Conn, org: Org, tool_id: FromPath[UUID]) -> None:
        org.require_manager()
        if await agent_configs.delete_tool(conn, org_id=org.org_id, tool_id=tool_id, deleted_by=org.user.id) is None:
            raise not_found("tool")
