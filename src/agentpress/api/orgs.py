"""Orgs, their members and invitations."""

from __future__ import annotations

from litestar import Controller


class OrgsController(Controller):
    path = "/orgs"
    tags = ["orgs"]  # noqa: RUF012 (Litestar declares it as a plain attribute)


class InvitationsController(Controller):
    path = "/invitations"
    tags = ["orgs"]  # noqa: RUF012 (Litestar declares it as a plain attribute)
