"""Orgs, their members and invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from agentpress.models.invitations import Invitation, InvitationAccept, InvitationCreate
from agentpress.models.orgs import (
    Org,
    OrgCreate,
    OrgMember,
    OrgMemberDetail,
    OrgMemberUpdate,
    OrgRole,
    OrgUpdate,
    OrgWithRole,
)
from agentpress.models.users import SessionUser
from agentpress.repositories import invitations, orgs
from agentpress.services.crypto import hash_token, new_token
from agentpress.services.mail import queue_email
from agentpress.services.verification import require_verified
from agentpress.web.access import CurrentUser, OrgContext, org_context_for, require_not_guest
from agentpress.web.dependencies import AppSettings, Conn
from agentpress.web.errors import ApiError, field_error, forbidden, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset
from agentpress.web.ratelimits import LimitsDep

INVITATION_TTL = timedelta(days=7)

ORG_PATH = "/{org_id:uuid}"
MEMBER_PATH = "/{org_id:uuid}/members/{user_id:uuid}"
INVITATIONS_PATH = "/{org_id:uuid}/invitations"


def _require_owner(org: OrgContext, detail: str) -> None:
    """Owners have the org's last word; platform admins may act as one in every org."""
    if org.role != "owner" and org.user.role != "admin":
        raise forbidden(detail)


def _last_owner(action: str) -> ApiError:
    return ApiError(409, "conflict", f"the org's last owner cannot {action}; make another member an owner first")


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


class OrgsController(Controller):
    path = "/orgs"
    tags = ["orgs"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/", operation_id="list_orgs", summary="The orgs you belong to, with your role in each, by name")
    async def list_orgs(
        self,
        conn: Conn,
        current_user: CurrentUser,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[OrgWithRole]:
        items = await orgs.list_orgs_for_user(
            conn, user_id=current_user.id, limit=page_size, offset=offset(page, page_size)
        )
        total = await orgs.count_orgs_for_user(conn, user_id=current_user.id)
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post("/", operation_id="create_org", summary="Create an org; you become its owner")
    async def create_org(self, conn: Conn, current_user: CurrentUser, data: JSONBody[OrgCreate]) -> OrgWithRole:
        require_not_guest(current_user)
        return await orgs.create_org_with_owner(conn, name=data.name, slug=data.slug, owner_id=current_user.id)

    @get(ORG_PATH, operation_id="get_org", summary="An org you belong to, with your role there")
    async def get_org(self, conn: Conn, current_user: CurrentUser, org_id: FromPath[UUID]) -> OrgWithRole:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        found = await orgs.get_org(conn, org_id=org_id)
        if found is None:
            raise not_found("org")
        return OrgWithRole(**found.model_dump(), role=org.role)

    @patch(ORG_PATH, operation_id="update_org", summary="Rename an org or change its slug (owners and admins)")
    async def update_org(
        self, conn: Conn, current_user: CurrentUser, org_id: FromPath[UUID], data: JSONBody[OrgUpdate]
    ) -> OrgWithRole:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_manager()
        updated = await orgs.update_org(conn, org_id=org_id, name=data.name, slug=data.slug)
        if updated is None:
            raise not_found("org")
        return OrgWithRole(**updated.model_dump(), role=org.role)

    @delete(ORG_PATH, operation_id="delete_org", summary="Delete an org with its members and invitations (owners)")
    async def delete_org(
        self, conn: Conn, settings: AppSettings, current_user: CurrentUser, org_id: FromPath[UUID]
    ) -> None:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_writer()
        _require_owner(org, "only the org's owners may delete it")
        found = await orgs.get_org(conn, org_id=org_id)
        if found is not None and found.slug == settings.signup_org:
            raise ApiError(409, "conflict", "this org cannot be deleted: new users join it (SIGNUP_ORG)")
        if not await orgs.delete_org(conn, org_id=org_id):
            raise not_found("org")

    @get(
        f"{ORG_PATH}/members",
        operation_id="list_org_members",
        summary="An org's members, by email; their emails only for owners and admins",
    )
    async def list_members(
        self,
        conn: Conn,
        current_user: CurrentUser,
        org_id: FromPath[UUID],
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[OrgMemberDetail]:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        items = await orgs.list_org_members(conn, org_id=org_id, limit=page_size, offset=offset(page, page_size))
        if not org.can_manage:
            # Members see who is in the org and their roles; an address is for those who manage it.
            items = [item.model_copy(update={"email": None}) for item in items]
        total = await orgs.count_org_members(conn, org_id=org_id)
        return Page(items=items, total=total, page=page, page_size=page_size)

    @patch(MEMBER_PATH, operation_id="update_org_member", summary="Change a member's role (owners and admins)")
    async def update_member(
        self,
        conn: Conn,
        current_user: CurrentUser,
        org_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[OrgMemberUpdate],
    ) -> OrgMemberDetail:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_manager()
        async with conn.transaction():
            # Owner rows first, then the member's: the order every membership change takes its locks in.
            owners = await orgs.lock_org_owners(conn, org_id=org_id)
            member = await orgs.get_org_member_for_update(conn, org_id=org_id, user_id=user_id)
            if member is None:
                raise not_found("member")
            if member.role != data.role and "owner" in (member.role, data.role):
                _require_owner(org, "only the org's owners may grant or take away the owner role")
            if member.role == "owner" and data.role != "owner" and all(owner == user_id for owner in owners):
                raise _last_owner("be demoted")
            updated = await orgs.update_org_member_role(conn, org_id=org_id, user_id=user_id, role=data.role)
        if updated is None:
            raise not_found("member")
        return updated

    @delete(
        MEMBER_PATH,
        operation_id="remove_org_member",
        summary="Remove a member (owners and admins), or leave the org (your own user id)",
    )
    async def remove_member(
        self, conn: Conn, current_user: CurrentUser, org_id: FromPath[UUID], user_id: FromPath[UUID]
    ) -> None:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_writer()
        leaving = user_id == current_user.id
        if not leaving:
            org.require_manager()
        async with conn.transaction():
            owners = await orgs.lock_org_owners(conn, org_id=org_id)
            member = await orgs.get_org_member_for_update(conn, org_id=org_id, user_id=user_id)
            if member is None:
                raise not_found("member")
            if member.role == "owner":
                if not leaving:
                    _require_owner(org, "only the org's owners may remove an owner")
                if all(owner == user_id for owner in owners):
                    raise _last_owner("leave" if leaving else "be removed")
            await orgs.delete_org_member(conn, org_id=org_id, user_id=user_id)

    @post(INVITATIONS_PATH, operation_id="create_invitation", summary="Invite someone by email (owners and admins)")
    async def create_invitation(
        self,
        conn: Conn,
        settings: AppSettings,
        limits: LimitsDep,
        current_user: CurrentUser,
        org_id: FromPath[UUID],
        data: JSONBody[InvitationCreate],
    ) -> Invitation:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_manager()
        if data.role == "owner":
            _require_owner(org, "only the org's owners may invite an owner")
        if await orgs.has_org_member_with_email(conn, org_id=org_id, email=data.email):
            raise field_error(409, "conflict", "email", "already belongs to a member of this org")
        found = await orgs.get_org(conn, org_id=org_id)
        if found is None:
            raise not_found("org")
        # The token leaves the service only in the mail; the database keeps its hash.
        token = new_token()
        expires_at = datetime.now(UTC) + INVITATION_TTL
        link = f"{settings.public_base_url}/invitations/accept?token={token}"
        subject, body = _invitation_mail(found, data.role, current_user, link, expires_at)
        await limits.mail_to(data.email)
        # Both or neither: no invitation that nobody is told of, no mail with a dead link.
        async with conn.transaction():
            # Counted under a lock on the org, so that concurrent invitations cannot pass the cap together.
            pending = await invitations.lock_org_and_count_pending_invitations(conn, org_id=org_id)
            if pending >= settings.max_pending_invitations_per_org:
                raise ApiError(
                    409,
                    "limit_reached",
                    f"the org has {pending} pending invitations, the most it may have; "
                    "revoke some or wait until they are accepted or expire",
                )
            invitation = await invitations.create_invitation(
                conn,
                org_id=org_id,
                email=data.email,
                role=data.role,
                token_hash=hash_token(token),
                invited_by=current_user.id,
                expires_at=expires_at,
            )
            await queue_email(conn, settings, kind="invitation", to_email=data.email, subject=subject, body=body)
        return invitation

    @get(INVITATIONS_PATH, operation_id="list_invitations", summary="An org's invitations, newest first")
    async def list_invitations(
        self,
        conn: Conn,
        current_user: CurrentUser,
        org_id: FromPath[UUID],
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[Invitation]:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        if not org.can_manage:  # a read, so platform guests who manage the org may see them
            raise forbidden("only the org's owners and admins may see its invitations")
        items = await invitations.list_invitations_for_org(
            conn, org_id=org_id, limit=page_size, offset=offset(page, page_size)
        )
        total = await invitations.count_invitations_for_org(conn, org_id=org_id)
        return Page(items=items, total=total, page=page, page_size=page_size)

    @delete(
        f"{INVITATIONS_PATH}/{{invitation_id:uuid}}", operation_id="revoke_invitation", summary="Revoke an invitation"
    )
    async def revoke_invitation(
        self, conn: Conn, current_user: CurrentUser, org_id: FromPath[UUID], invitation_id: FromPath[UUID]
    ) -> None:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_manager()
        if await invitations.revoke_invitation(conn, org_id=org_id, invitation_id=invitation_id) is not None:
            return
        if await invitations.get_invitation(conn, org_id=org_id, invitation_id=invitation_id) is None:
            raise not_found("invitation")
        raise ApiError(409, "conflict", "the invitation has already been accepted")


class InvitationsController(Controller):
    path = "/invitations"
    tags = ["orgs"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @post(
        "/accept",
        operation_id="accept_invitation",
        summary="Join an org with an invitation's token, signed in with the invited email",
        status_code=200,
    )
    async def accept(
        self,
        conn: Conn,
        settings: AppSettings,
        limits: LimitsDep,
        current_user: CurrentUser,
        data: JSONBody[InvitationAccept],
    ) -> OrgMember:
        await limits.per_ip(
            "invitation-accept", settings.rate_limit_invitation_accept_per_ip, "invitation attempts from this address"
        )
        # The invitation is matched by email: an address nobody has proved could be anyone's.
        require_verified(current_user, "accept an invitation")
        token_hash = hash_token(data.token)
        async with conn.transaction():
            invitation = await invitations.claim_invitation(conn, token_hash=token_hash, email=current_user.email)
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
            member = await orgs.add_org_member(
                conn, org_id=invitation.org_id, user_id=current_user.id, role=invitation.role
            )
            if member is None:
                # Raising rolls the claim back: the invitation stays usable.
                raise ApiError(409, "conflict", "you are already a member of this org")
        return member
