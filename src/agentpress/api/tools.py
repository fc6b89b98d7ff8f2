"""Tools agents may call: functions, HTTP endpoints and MCP servers, each with a JSON Schema of its arguments."""

from __future__ import annotations

from litestar import Controller


class ToolsController(Controller):
    path = "/tools"
    tags = ["tools"]  # noqa: RUF012 (Litestar declares it as a plain attribute)
