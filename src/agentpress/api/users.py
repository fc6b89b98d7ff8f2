"""Platform administration of users: list and search them, change their role, disable them."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, patch
from litestar.params import FromPath, FromQuery, JSONBody

from agentpress.models.users import User, UserAdminUpdate
from agentpress.repositories import users
from agentpress.services.accounts import change_platform_access
from agentpress.web.access import CurrentUser, forget_users, require_platform_admin
from agentpress.web.dependencies import AppSettings, CacheDep, Conn
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
        self,
        conn: Conn,
        cache: CacheDep,
        settings: AppSettings,
        current_user: CurrentUser,
        user_id: FromPath[UUID],
        data: JSONBody[UserAdminUpdate],
    ) -> User:
        require_platform_admin(current_user)
        user = await change_platform_access(
            conn, current_user, user_id=user_id, role=data.role, is_disabled=data.is_disabled
        )
        # After the commit: their sessions are no longer answered from the cache with the old role.
        await forget_users(conn, cache, settings, user_ids=[user_id])
        return user
