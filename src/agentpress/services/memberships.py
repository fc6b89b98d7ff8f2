"""Who belongs to an org and as what: role changes, removals, invitations and their acceptance, with their rules.

Every change of a membership takes its locks in one order: the org's owner rows first (lock_org_owners), then
the member's row. Two changes of one org then never wait on each other in a cycle, and the last owner is
counted under the lock, so that two owners cannot demote or remove each other at the same time and leave
the org with none.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.models.invitations import Invitation
from agentpress.models.orgs import Org, OrgMember, OrgMemberDetail, OrgRole
from agentpress.models.users import SessionUser
from agentpress.repositories import api_keys, invitations, orgs
from agentpress.services.crypto import hash_token, new_token
from agentpress.services.mail import queue_email
from agentpress.services.verification import require_verified
from agentpress.settings import Settings
from agentpress.web.errors import ApiError, field_error, forbidden, not_found

if TYPE_CHECKING:
    # Types only: the web package imports the services its lifespan runs, this one among them.
    from agentpress.web.access import OrgContext
    from agentpress.web.ratelimits import Limits

INVITATION_TTL = timedelta(days=7)


def require_owner(org: OrgContext, detail: str) -> None:
    """Owners have the org's last word; platform admins may act as one in every org."""
    if org.role != "owner" and org.user.role != "admin":
        raise forbidden(detail)


def _last_owner(action: str) -> ApiError:
    return ApiError(409, "conflict", f"the org's last owner cannot {action}; make another member an owner first")


async def change_member_role(
    conn: AsyncConnection[Any], org: OrgContext, *, user_id: UUID, role: OrgRole
) -> OrgMemberDetail:
    """Give a member another role. Only owners grant or take away the owner role; the last owner keeps it."""
    async with conn.transaction():
        owners = await orgs.lock_org_owners(conn, org_id=org.org_id)
        member = await orgs.get_org_member_for_update(conn, org_id=org.org_id, user_id=user_id)
        if member is None:
            raise not_found("member")
        if member.role != role and "owner" in (member.role, role):
            require_owner(org, "only the org's owners may grant or take away the owner role")
        if member.role == "owner" and role != "owner" and all(owner == user_id for owner in owners):
            raise _last_owner("be demoted")
        updated = await orgs.update_org_member_role(conn, org_id=org.org_id, user_id=user_id, role=role)
    if updated is None:
        raise not_found("member")
    return updated


async def remove_member(conn: AsyncConnection[Any], org: OrgContext, *, user_id: UUID) -> None:
    """Remove a member (owners and admins; an owner only by an owner), or leave the org (your own user id).
    The last owner can do neither."""
    leaving = user_id == org.user.id
    if not leaving:
        org.require_manager()
    async with conn.transaction():
        owners = await orgs.lock_org_owners(conn, org_id=org.org_id)
        member = await orgs.get_org_member_for_update(conn, org_id=org.org_id, user_id=user_id)
        if member is None:
            raise not_found("member")
        if member.role == "owner":
            if not leaving:
                require_owner(org, "only the org's owners may remove an owner")
            if all(owner == user_id for owner in owners):
                raise _last_owner("leave" if leaving else "be removed")
        await orgs.delete_org_member(conn, org_id=org.org_id, user_id=user_id)


async def delete_org(conn: AsyncConnection[Any], *, org_id: UUID) -> tuple[list[UUID], list[bytes]] | None:
    """Delete an org with its members, keys and invitations; None when there was none. Answers who were its
    members and its keys' token hashes, read under the org's row lock in the same transaction (nobody joins
    and no key is made in between), for the session cache to forget once this commits."""
    async with conn.transaction():
        key_hashes = await api_keys.list_api_key_token_hashes(conn, org_id=org_id, api_key_id=None)
        member_ids = await orgs.list_org_member_ids(conn, org_id=org_id)
        if not await orgs.delete_org(conn, org_id=org_id):
            return None
    return member_ids, key_hashes


def _invitation_mail(org: Org, role: OrgRole, inviter: SessionUser, link: str, expires_at: datetime) -> tuple[str, str]:
    """The subject and body of an invitation mail."""
    who = inviter.display_name or inviter.email
    body = (
        f"{who} invited you to join {org.name} on AgentPress as {'an' if role in ('owner', 'admin') else 'a'} {role}.\n"
        f"\n"
        f"Accept the invitation: {link}\n"
        f"\n"
        f"Sign in with this email address to accept. The link works once and expires on "
        f"{expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    return f"Invitation to join {org.name}", body


async def invite(
    conn: AsyncConnection[Any], settings: Settings, limits: Limits, org: OrgContext, *, email: str, role: OrgRole
) -> Invitation:
    """Invite someone by email (the caller checked that the user manages the org): the invitation and its
    mail, both or neither. Only owners invite owners; a member's address is refused; the org holds at most
    MAX_PENDING_INVITATIONS_PER_ORG pending invitations, counted under a lock on the org."""
    if role == "owner":
        require_owner(org, "only the org's owners may invite an owner")
    if await orgs.has_org_member_with_email(conn, org_id=org.org_id, email=email):
        raise field_error(409, "conflict", "email", "already belongs to a member of this org")
    found = await orgs.get_org(conn, org_id=org.org_id)
    if found is None:
        raise not_found("org")
    # The token leaves the service only in the mail; the database keeps its hash.
    token = new_token()
    expires_at = datetime.now(UTC) + INVITATION_TTL
    link = f"{settings.public_base_url}/invitations/accept?token={token}"
    subject, body = _invitation_mail(found, role, org.user, link, expires_at)
    await limits.mail_to(email)
    # Both or neither: no invitation that nobody is told of, no mail with a dead link.
    async with conn.transaction():
        # Counted under a lock on the org, so that concurrent invitations cannot pass the cap together.
        pending = await invitations.lock_org_and_count_pending_invitations(conn, org_id=org.org_id)
        if pending >= settings.max_pending_invitations_per_org:
            raise ApiError(
                409,
                "limit_reached",
                f"the org has {pending} pending invitations, the most it may have; "
                "revoke some or wait until they are accepted or expire",
            )
        invitation = await invitations.create_invitation(
            conn,
            org_id=org.org_id,
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=org.user.id,
            expires_at=expires_at,
        )
        await queue_email(conn, settings, kind="invitation", to_email=email, subject=subject, body=body)
    return invitation


async def accept_invitation(conn: AsyncConnection[Any], user: SessionUser, *, token: str) -> OrgMember:
    """Join an org with an invitation's token: the claim and the membership, both or neither."""
    # The invitation is matched by email: an address nobody has proved could be anyone's.
    require_verified(user, "accept an invitation")
    token_hash = hash_token(token)
    async with conn.transaction():
        invitation = await invitations.claim_invitation(conn, token_hash=token_hash, email=user.email)
        if invitation is None:
            if await invitations.get_live_invitation_by_token_hash(conn, token_hash=token_hash) is not None:
                raise forbidden("this invitation was sent to another email address; sign in with that one")
            raise field_error(400, "invalid_request", "token", "is unknown, expired, revoked or already used")
        # A role that gives power is granted only while its sender could still grant it: an admin
        # demoted or removed since (or disabled, or deleted) no longer hands it out.
        if invitation.role in ("owner", "admin") and not await invitations.can_inviter_grant_role(
            conn, org_id=invitation.org_id, inviter_id=invitation.invited_by, role=invitation.role
        ):
            raise forbidden(
                f"whoever sent this invitation may no longer grant the {invitation.role} role; "
                "ask an owner of the org to invite you again"
            )
        member = await orgs.add_org_member(conn, org_id=invitation.org_id, user_id=user.id, role=invitation.role)
        if member is None:
            # Raising rolls the claim back: the invitation stays usable.
            raise ApiError(409, "conflict", "you are already a member of this org")
    return member
