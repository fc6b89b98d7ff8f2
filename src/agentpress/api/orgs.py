"""Orgs, their members and invitations."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from agentpress.models.invitations import Invitation, InvitationAccept, InvitationCreate
from agentpress.models.orgs import OrgCreate, OrgMember, OrgMemberDetail, OrgMemberUpdate, OrgUpdate, OrgWithRole
from agentpress.repositories import invitations, orgs
from agentpress.services import memberships
from agentpress.web.access import CurrentUser, forget_api_keys, forget_users, org_context_for, require_not_guest
from agentpress.web.dependencies import AppSettings, CacheDep, Conn
from agentpress.web.errors import ApiError, forbidden, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset
from agentpress.web.ratelimits import LimitsDep

ORG_PATH = "/{org_id:uuid}"
MEMBER_PATH = "/{org_id:uuid}/members/{user_id:uuid}"
INVITATIONS_PATH = "/{org_id:uuid}/invitations"


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
    async def create_org(
        self, conn: Conn, cache: CacheDep, settings: AppSettings, current_user: CurrentUser, data: JSONBody[OrgCreate]
    ) -> OrgWithRole:
        require_not_guest(current_user)
        created = await orgs.create_org_with_owner(conn, name=data.name, slug=data.slug, owner_id=current_user.id)
        # A user in no org had no home org: now this one is.
        await forget_users(conn, cache, settings, user_ids=[current_user.id], org_ids=(created.id,))
        return created

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
        self, conn: Conn, cache: CacheDep, settings: AppSettings, current_user: CurrentUser, org_id: FromPath[UUID]
    ) -> None:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_writer()
        memberships.require_owner(org, "only the org's owners may delete it")
        found = await orgs.get_org(conn, org_id=org_id)
        if found is not None and found.slug == settings.signup_org:
            raise ApiError(409, "conflict", "this org cannot be deleted: new users join it (SIGNUP_ORG)")
        deleted = await memberships.delete_org(conn, org_id=org_id)
        if deleted is None:
            raise not_found("org")
        member_ids, key_hashes = deleted
        # After the commit: the members' sessions (their home org may have been this one), their access to
        # it and its keys are no longer answered from the cache.
        await forget_api_keys(cache, token_hashes=key_hashes)
        await forget_users(conn, cache, settings, user_ids=member_ids, org_ids=(org_id,))

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
        cache: CacheDep,
        settings: AppSettings,
        current_user: CurrentUser,
        org_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[OrgMemberUpdate],
    ) -> OrgMemberDetail:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_manager()
        member = await memberships.change_member_role(conn, org, user_id=user_id, role=data.role)
        await forget_users(conn, cache, settings, user_ids=[user_id], org_ids=(org_id,))
        return member

    @delete(
        MEMBER_PATH,
        operation_id="remove_org_member",
        summary="Remove a member (owners and admins), or leave the org (your own user id)",
    )
    async def remove_member(
        self,
        conn: Conn,
        cache: CacheDep,
        settings: AppSettings,
        current_user: CurrentUser,
        org_id: FromPath[UUID],
        user_id: FromPath[UUID],
    ) -> None:
        org = await org_context_for(conn, org_id=org_id, user=current_user)
        org.require_writer()
        await memberships.remove_member(conn, org, user_id=user_id)
        await forget_users(conn, cache, settings, user_ids=[user_id], org_ids=(org_id,))

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
        return await memberships.invite(conn, settings, limits, org, email=data.email, role=data.role)

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
        cache: CacheDep,
        settings: AppSettings,
        limits: LimitsDep,
        current_user: CurrentUser,
        data: JSONBody[InvitationAccept],
    ) -> OrgMember:
        await limits.per_ip(
            "invitation-accept", settings.rate_limit_invitation_accept_per_ip, "invitation attempts from this address"
        )
        member = await memberships.accept_invitation(conn, current_user, token=data.token)
        await forget_users(conn, cache, settings, user_ids=[current_user.id], org_ids=(member.org_id,))
        return member
