"""Invitations to join an org, stored with their token's hash only."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.invitations import Invitation
from agentpress.models.orgs import OrgRole


async def create_invitation(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    email: str,
    role: OrgRole,
    token_hash: bytes,
    invited_by: UUID,
    expires_at: datetime,
) -> Invitation:
    """Store an invitation; the caller queues its mail in the same transaction."""
    return await queries.invitations.create_invitation.one_required(
        conn,
        Invitation,
        org_id=org_id,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by=invited_by,
        expires_at=expires_at,
    )


async def list_invitations_for_org(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> list[Invitation]:
    return await queries.invitations.list_invitations_for_org.many(
        conn, Invitation, org_id=org_id, limit=limit, offset=offset
    )


async def count_invitations_for_org(conn: AsyncConnection[Any], *, org_id: UUID) -> int:
    return await queries.invitations.count_invitations_for_org.scalar_required(conn, int, org_id=org_id)


async def get_invitation(conn: AsyncConnection[Any], *, org_id: UUID, invitation_id: UUID) -> Invitation | None:
    return await queries.invitations.get_invitation.one(conn, Invitation, org_id=org_id, invitation_id=invitation_id)


async def revoke_invitation(conn: AsyncConnection[Any], *, org_id: UUID, invitation_id: UUID) -> Invitation | None:
    return await queries.invitations.revoke_invitation.one(conn, Invitation, org_id=org_id, invitation_id=invitation_id)


async def claim_invitation(conn: AsyncConnection[Any], *, token_hash: bytes, email: str) -> Invitation | None:
    """Mark a live invitation for this email accepted; None when there is none to claim."""
    return await queries.invitations.claim_invitation.one(conn, Invitation, token_hash=token_hash, email=email)


async def get_live_invitation_by_token_hash(conn: AsyncConnection[Any], *, token_hash: bytes) -> Invitation | None:
    return await queries.invitations.get_live_invitation_by_token_hash.one(conn, Invitation, token_hash=token_hash)


async def lock_org_and_count_pending_invitations(conn: AsyncConnection[Any], *, org_id: UUID) -> int:
    """The org's pending invitations, with the org locked until the caller's transaction ends."""
    return await queries.invitations.lock_org_and_count_pending_invitations.scalar_required(conn, int, org_id=org_id)


async def can_inviter_grant_role(
    conn: AsyncConnection[Any], *, org_id: UUID, inviter_id: UUID | None, role: OrgRole
) -> bool:
    """Whether the invitation's sender may still grant `role` in the org (False when they were deleted)."""
    if inviter_id is None:
        return False
    return await queries.invitations.can_inviter_grant_role.scalar_required(
        conn, bool, org_id=org_id, inviter_id=inviter_id, role=role
    )
