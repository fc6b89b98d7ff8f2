"""Orgs and their members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.models.orgs import Org, OrgAccess, OrgMember, OrgRole
from agentpress.queries import queries


async def get_default_org_for_update(conn: AsyncConnection[Any]) -> Org | None:
    return await queries.orgs.get_default_org_for_update.one(conn, Org)


async def create_org_member(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, role: OrgRole) -> OrgMember:
    member = await queries.orgs.create_org_member.one(conn, OrgMember, org_id=org_id, user_id=user_id, role=role)
    assert member is not None
    return member


async def get_org_access(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID) -> OrgAccess | None:
    return await queries.orgs.get_org_access.one(conn, OrgAccess, org_id=org_id, user_id=user_id)


async def get_home_org_access(conn: AsyncConnection[Any], *, user_id: UUID) -> OrgAccess | None:
    return await queries.orgs.get_home_org_access.one(conn, OrgAccess, user_id=user_id)
