"""Orgs and their members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.orgs import Org, OrgAccess, OrgMember, OrgMemberDetail, OrgRole, OrgWithRole


async def create_org_member(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, role: OrgRole) -> OrgMember:
    return await queries.orgs.create_org_member.one_required(conn, OrgMember, org_id=org_id, user_id=user_id, role=role)


async def get_org_access(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID) -> OrgAccess | None:
    return await queries.orgs.get_org_access.one(conn, OrgAccess, org_id=org_id, user_id=user_id)


async def list_orgs_for_user(
    conn: AsyncConnection[Any], *, user_id: UUID, limit: int, offset: int
) -> list[OrgWithRole]:
    return await queries.orgs.list_orgs_for_user.many(conn, OrgWithRole, user_id=user_id, limit=limit, offset=offset)


async def count_orgs_for_user(conn: AsyncConnection[Any], *, user_id: UUID) -> int:
    return await queries.orgs.count_orgs_for_user.scalar_required(conn, int, user_id=user_id)


async def get_org(conn: AsyncConnection[Any], *, org_id: UUID) -> Org | None:
    return await queries.orgs.get_org.one(conn, Org, org_id=org_id)


async def get_org_by_slug(conn: AsyncConnection[Any], *, slug: str) -> Org | None:
    return await queries.orgs.get_org_by_slug.one(conn, Org, slug=slug)


async def create_org_with_owner(conn: AsyncConnection[Any], *, name: str, slug: str, owner_id: UUID) -> OrgWithRole:
    """Create an org and make the user its owner, both or neither."""
    # A composition of one unit, so its own transaction (a savepoint in sign-up's): an org never exists without
    # an owner, the invariant services.memberships keeps for every later change. Two inserts, nothing to lock.
    async with conn.transaction():
        org = await queries.orgs.create_org.one_required(conn, Org, name=name, slug=slug)
        member = await create_org_member(conn, org_id=org.id, user_id=owner_id, role="owner")
    return OrgWithRole(**org.model_dump(), role=member.role)


async def update_org(conn: AsyncConnection[Any], *, org_id: UUID, name: str | None, slug: str | None) -> Org | None:
    return await queries.orgs.update_org.one(conn, Org, org_id=org_id, name=name, slug=slug)


async def delete_org(conn: AsyncConnection[Any], *, org_id: UUID) -> bool:
    """Delete an org that is not the default one; False when nothing was deleted."""
    return await queries.orgs.delete_org.execrows(conn, org_id=org_id) > 0


async def list_org_members(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> list[OrgMemberDetail]:
    return await queries.orgs.list_org_members.many(conn, OrgMemberDetail, org_id=org_id, limit=limit, offset=offset)


async def count_org_members(conn: AsyncConnection[Any], *, org_id: UUID) -> int:
    return await queries.orgs.count_org_members.scalar_required(conn, int, org_id=org_id)


async def lock_org_owners(conn: AsyncConnection[Any], *, org_id: UUID) -> list[UUID]:
    """The org's owners, locked until the transaction ends; call inside one, before changing any member."""
    return await queries.orgs.lock_org_owners.scalar_required(conn, list[UUID], org_id=org_id)


async def get_org_member_for_update(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID) -> OrgMember | None:
    return await queries.orgs.get_org_member_for_update.one(conn, OrgMember, org_id=org_id, user_id=user_id)


async def update_org_member_role(
    conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, role: OrgRole
) -> OrgMemberDetail | None:
    return await queries.orgs.update_org_member_role.one(
        conn, OrgMemberDetail, org_id=org_id, user_id=user_id, role=role
    )


async def delete_org_member(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID) -> bool:
    return await queries.orgs.delete_org_member.execrows(conn, org_id=org_id, user_id=user_id) > 0


async def add_org_member(conn: AsyncConnection[Any], *, org_id: UUID, user_id: UUID, role: OrgRole) -> OrgMember | None:
    """The new membership, or None when the user already belongs to the org."""
    return await queries.orgs.add_org_member.one(conn, OrgMember, org_id=org_id, user_id=user_id, role=role)


async def has_org_member_with_email(conn: AsyncConnection[Any], *, org_id: UUID, email: str) -> bool:
    return await queries.orgs.has_org_member_with_email.scalar_required(conn, bool, org_id=org_id, email=email)


async def list_org_ids(conn: AsyncConnection[Any]) -> list[UUID]:
    return await queries.orgs.list_org_ids.scalar_required(conn, list[UUID])


async def list_org_member_ids(conn: AsyncConnection[Any], *, org_id: UUID) -> list[UUID]:
    return await queries.orgs.list_org_member_ids.scalar_required(conn, list[UUID], org_id=org_id)
