"""OAuth sign-in with GitHub and Google: the authorization-code flow with state and PKCE."""

from __future__ import annotations

from litestar import Controller


class OAuthController(Controller):
    path = "/auth/oauth"
    tags = ["auth"]  # noqa: RUF012 (Litestar declares it as a plain attribute)
