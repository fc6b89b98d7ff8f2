"""Email verification: confirming the mailed link, and asking for a new one."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody

from agentpress.models.email_verifications import EmailVerificationConfirm
from agentpress.services.verification import confirm_email, resend_verification_mail
from agentpress.web.access import CurrentUser, forget_users
from agentpress.web.dependencies import AppSettings, CacheDep, Conn
from agentpress.web.openapi import error_response
from agentpress.web.ratelimits import LimitsDep


class EmailVerificationController(Controller):
    path = "/auth/email-verifications"
    tags = ["auth"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @post(
        "/",
        operation_id="resend_email_verification",
        summary="Mail the signed-in user a new verification link (older ones stop working)",
        status_code=202,
        responses={409: error_response(409, "The email address is already verified")},
    )
    async def resend(self, conn: Conn, settings: AppSettings, limits: LimitsDep, current_user: CurrentUser) -> None:
        if not current_user.is_email_verified:
            await limits.per_user(
                "verification-resend",
                current_user.id,
                settings.rate_limit_email_verification_resend_per_user,
                "verification mails for this account",
            )
            await limits.mail_to(current_user.email)
        await resend_verification_mail(conn, settings, current_user)

    @post(
        "/confirm",
        operation_id="confirm_email_verification",
        summary="Verify an email address with the token its mail carried; no sign-in needed",
        status_code=204,
    )
    async def confirm(
        self,
        conn: Conn,
        cache: CacheDep,
        settings: AppSettings,
        limits: LimitsDep,
        data: JSONBody[EmailVerificationConfirm],
    ) -> None:
        await limits.per_ip(
            "verification-confirm",
            settings.rate_limit_email_verification_confirm_per_ip,
            "email verification attempts from this address",
        )
        user_id = await confirm_email(conn, token=data.token)
        # Cached sessions carry is_email_verified.
        await forget_users(conn, cache, settings, user_ids=[user_id])
