"""Agents and their versions."""

from __future__ import annotations

from litestar import Controller


class AgentsController(Controller):
    path = "/agents"
    tags = ["agents"]  # noqa: RUF012 (Litestar declares it as a plain attribute)
