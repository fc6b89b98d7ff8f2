"""Platform administration of users: list and search them, change their role, disable them."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, patch
from litestar.params import FromPath, FromQuery, JSONBody

from agentpress.models.users import User, UserAdminUpdate
from agentpress.repositories import sessions, users
from agentpress.web.access import CurrentUser, require_platform_admin
from agentpress.web.dependencies import Conn
from agentpress.web.errors import ApiError, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, contains_pattern, offset


class UsersController(Controller):
    path = "/users"
    tags = ["users"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/", operation_id="list_users", summary="Users by email; `search` matches email or username")
    async def list_users(
        self,
        conn: Conn,
        current_user: CurrentUser,
        search: FromQuery[str | None] = None,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[User]:
        require_platform_admin(current_user)
        items, total = await users.list_users(
            conn, pattern=contains_pattern(search) if search else None, limit=page_size, offset=offset(page, page_size)
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @patch("/{user_id:uuid}", operation_id="update_user", summary="Change a user's platform role or disable them")
    async def update_user(
        self, conn: Conn, current_user: CurrentUser, user_id: FromPath[UUID], data: JSONBody[UserAdminUpdate]
    ) -> User:
        require_platform_admin(current_user)
        if user_id == current_user.id and (data.is_disabled or data.role not in (None, "admin")):
            # Otherwise the last admin could lock everyone out of administration.
            raise ApiError(409, "conflict", "admins cannot demote or disable themselves")
        async with conn.transaction():
            user = await users.update_user_admin_fields(
                conn, user_id=user_id, role=data.role, is_disabled=data.is_disabled
            )
            if user is None:
                raise not_found("user")
            if user.is_disabled:
                await sessions.revoke_sessions_for_user(conn, user_id=user.id)
        return user
