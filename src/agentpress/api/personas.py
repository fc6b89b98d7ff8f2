"""Personas: reusable tone, style and prompt for agents."""

from __future__ import annotations

from litestar import Controller


class PersonasController(Controller):
    path = "/personas"
    tags = ["personas"]  # noqa: RUF012 (Litestar declares it as a plain attribute)
