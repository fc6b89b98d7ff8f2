"""Users: registration, sign-in lookups and platform administration."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.users import PlatformRole, Provider, User, UserCredentials


async def create_user(
    conn: AsyncConnection[Any],
    *,
    email: str,
    role: PlatformRole,
    provider: Provider = "email",
    password_hash: str | None = None,
    username: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    display_name: str | None = None,
    avatar_url: str | None = None,
    github_id: str | None = None,
    github_username: str | None = None,
    google_id: str | None = None,
    is_email_verified: bool = False,
) -> User:
    return await queries.users.create_user.one_required(
        conn,
        User,
        email=email,
        username=username,
        first_name=first_name,
        last_name=last_name,
        display_name=display_name,
        avatar_url=avatar_url,
        github_id=github_id,
        github_username=github_username,
        google_id=google_id,
        password_hash=password_hash,
        role=role,
        provider=provider,
        is_email_verified=is_email_verified,
    )


async def get_user(conn: AsyncConnection[Any], *, user_id: UUID) -> User | None:
    return await queries.users.get_user.one(conn, User, user_id=user_id)


async def get_user_by_email(conn: AsyncConnection[Any], *, email: str) -> User | None:
    return await queries.users.get_user_by_email.one(conn, User, email=email)


async def get_user_credentials_by_email(conn: AsyncConnection[Any], *, email: str) -> UserCredentials | None:
    return await queries.users.get_user_credentials_by_email.one(conn, UserCredentials, email=email)


async def update_user_password_hash(conn: AsyncConnection[Any], *, user_id: UUID, password_hash: str) -> bool:
    return (
        await queries.users.update_user_password_hash.execrows(conn, user_id=user_id, password_hash=password_hash) == 1
    )


async def list_users(
    conn: AsyncConnection[Any], *, pattern: str | None, limit: int, offset: int
) -> tuple[list[User], int]:
    """One page of users and the total, by email; `pattern` is a LIKE pattern on email or username."""
    items = await queries.users.list_users.many(conn, User, pattern=pattern, limit=limit, offset=offset)
    total = await queries.users.count_users.scalar_required(conn, int, pattern=pattern)
    return items, total


async def update_user_admin_fields(
    conn: AsyncConnection[Any], *, user_id: UUID, role: PlatformRole | None, is_disabled: bool | None
) -> User | None:
    return await queries.users.update_user_admin_fields.one(
        conn, User, user_id=user_id, role=role, is_disabled=is_disabled
    )


async def get_user_by_github_id(conn: AsyncConnection[Any], *, github_id: str) -> User | None:
    return await queries.users.get_user_by_github_id.one(conn, User, github_id=github_id)


async def get_user_by_google_id(conn: AsyncConnection[Any], *, google_id: str) -> User | None:
    return await queries.users.get_user_by_google_id.one(conn, User, google_id=google_id)


async def update_user_github_identity(
    conn: AsyncConnection[Any], *, user_id: UUID, github_id: str, github_username: str | None
) -> User | None:
    return await queries.users.update_user_github_identity.one(
        conn, User, user_id=user_id, github_id=github_id, github_username=github_username
    )


async def update_user_google_id(conn: AsyncConnection[Any], *, user_id: UUID, google_id: str) -> User | None:
    return await queries.users.update_user_google_id.one(conn, User, user_id=user_id, google_id=google_id)
