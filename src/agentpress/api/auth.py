"""Registration, password sign-in, sign-out and the signed-in user's sessions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody

from agentpress.models.password_resets import PasswordResetConfirm, PasswordResetRequest
from agentpress.models.users import Login, Register, Session, SignedIn, User
from agentpress.repositories import sessions, users
from agentpress.services.accounts import (
    check_password_rules,
    check_reset_token,
    request_password_reset,
    reset_password,
    sign_up,
    start_session,
)
from agentpress.web.access import CurrentUser, bearer_token, forget_session, forget_users
from agentpress.web.dependencies import AppSettings, CacheDep, Conn, Db, Passwords
from agentpress.web.errors import not_found, unauthorized
from agentpress.web.openapi import error_response
from agentpress.web.ratelimits import LimitsDep

MAX_LISTED_SESSIONS = 100


class AuthController(Controller):
    """The routes anyone may call are rate limited and hash passwords with no database connection held."""

    path = "/auth"
    tags = ["auth"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @post("/register", operation_id="register", summary="Create an account and sign in")
    async def register(
        self,
        db: Db,
        settings: AppSettings,
        limits: LimitsDep,
        passwords: Passwords,
        request: Request[Any, Any, Any],
        data: JSONBody[Register],
    ) -> SignedIn:
        await limits.per_ip("register", settings.rate_limit_register_per_ip, "registrations from this address")
        check_password_rules(data.password, settings)
        password_hash = await passwords.hash(data.password)
        # The connection only now: never across the hash.
        async with db.connection() as conn:
            return await sign_up(
                conn,
                settings,
                request,
                email=data.email,
                password_hash=password_hash,
                username=data.username,
                first_name=data.first_name,
                last_name=data.last_name,
            )

    @post(
        "/login",
        operation_id="login",
        summary="Sign in with email and password",
        status_code=200,
        responses={401: error_response(401, "Wrong email or password, or the account is disabled")},
    )
    async def login(
        self,
        db: Db,
        settings: AppSettings,
        limits: LimitsDep,
        passwords: Passwords,
        request: Request[Any, Any, Any],
        data: JSONBody[Login],
    ) -> SignedIn:
        await limits.per_ip("login", settings.rate_limit_login_per_ip, "sign-ins from this address")
        await limits.check_sign_in(data.email)
        async with db.connection() as conn:
            credentials = await users.get_user_credentials_by_email(conn, email=data.email)
        # An unknown email costs a password check too: the answer and its timing are the same.
        matches, needs_rehash = await passwords.verify(
            credentials.password_hash if credentials else None, data.password
        )
        if credentials is None or not matches or credentials.is_disabled:
            await limits.sign_in_failed(data.email)
            raise unauthorized("wrong email or password")
        new_hash = await passwords.hash(data.password) if needs_rehash else None
        async with db.connection() as conn:
            if new_hash is not None:
                await users.update_user_password_hash(conn, user_id=credentials.id, password_hash=new_hash)
            user = await users.get_user(conn, user_id=credentials.id)
            if user is None:
                raise unauthorized("wrong email or password")
            return await start_session(conn, settings, user, request)

    @post("/logout", operation_id="logout", summary="Revoke the session of this token", status_code=204)
    async def logout(
        self, conn: Conn, cache: CacheDep, current_user: CurrentUser, request: Request[Any, Any, Any]
    ) -> None:
        await sessions.revoke_session(conn, session_id=current_user.session_id, user_id=current_user.id)
        # After the (autocommitted) revocation: the session cache must not answer for this token again.
        await forget_session(cache, token=bearer_token(request) or "")

    @get("/me", operation_id="get_me", summary="The signed-in user")
    async def me(self, current_user: CurrentUser) -> User:
        return User.model_validate(current_user.model_dump(include=set(User.model_fields)))

    @post(
        "/sessions/revoke-all",
        operation_id="revoke_all_my_sessions",
        summary="Sign out everywhere: revoke every session of the signed-in user, this one included",
        status_code=204,
    )
    async def revoke_all_sessions(
        self, conn: Conn, cache: CacheDep, settings: AppSettings, current_user: CurrentUser
    ) -> None:
        await sessions.revoke_sessions_for_user(conn, user_id=current_user.id)
        await forget_users(conn, cache, settings, user_ids=[current_user.id])

    @get("/sessions", operation_id="list_my_sessions", summary="The signed-in user's live sessions, newest first")
    async def list_sessions(self, conn: Conn, current_user: CurrentUser) -> list[Session]:
        return await sessions.list_sessions_for_user(conn, user_id=current_user.id, limit=MAX_LISTED_SESSIONS)

    @delete("/sessions/{session_id:uuid}", operation_id="revoke_my_session", summary="Revoke one of your sessions")
    async def revoke_session(
        self, conn: Conn, cache: CacheDep, settings: AppSettings, current_user: CurrentUser, session_id: FromPath[UUID]
    ) -> None:
        if not await sessions.revoke_session(conn, session_id=session_id, user_id=current_user.id):
            raise not_found("session")
        await forget_users(conn, cache, settings, user_ids=[current_user.id])

    @post(
        "/password-resets",
        operation_id="request_password_reset",
        summary="Mail a password reset link; 202 whether or not the email has an account",
        status_code=202,
    )
    async def post_password_reset(
        self, conn: Conn, settings: AppSettings, limits: LimitsDep, data: JSONBody[PasswordResetRequest]
    ) -> None:
        await limits.per_ip("reset", settings.rate_limit_password_reset_per_ip, "password reset requests")
        # Counted whether or not the address has an account, so a 429 tells nothing about it.
        await limits.mail_to(data.email)
        await request_password_reset(conn, settings, data.email)

    @post(
        "/password-resets/confirm",
        operation_id="confirm_password_reset",
        summary="Set a new password with a reset token; every session of the user ends",
        status_code=204,
    )
    async def post_password_reset_confirm(
        self,
        db: Db,
        cache: CacheDep,
        settings: AppSettings,
        limits: LimitsDep,
        passwords: Passwords,
        data: JSONBody[PasswordResetConfirm],
    ) -> None:
        await limits.per_ip(
            "reset-confirm", settings.rate_limit_password_reset_confirm_per_ip, "password reset attempts"
        )
        check_password_rules(data.password, settings)
        async with db.connection() as conn:
            await check_reset_token(conn, token=data.token)
        password_hash = await passwords.hash(data.password)
        async with db.connection() as conn:
            user_id = await reset_password(conn, token=data.token, password_hash=password_hash)
            await forget_users(conn, cache, settings, user_ids=[user_id])
