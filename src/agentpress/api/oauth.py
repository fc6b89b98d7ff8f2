"""OAuth sign-in with GitHub and Google: the authorization-code flow with state and PKCE."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.datastructures import Cookie
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from agentpress.models.users import SignedIn
from agentpress.repositories import oauth as oauth_repo
from agentpress.services import oauth_providers
from agentpress.services.crypto import encryptor, hash_token, new_token, oauth_code_verifier
from agentpress.services.verification import require_verified
from agentpress.settings import Settings
from agentpress.web.access import authenticate, bearer_token, forget_users
from agentpress.web.dependencies import AppSettings, CacheDep, Conn, Db
from agentpress.web.errors import ApiError, FieldError, field_error, not_found, unauthorized
from agentpress.web.lifespan import resources
from agentpress.web.ratelimits import LimitsDep

CALLBACK_ROUTE = "oauth_callback"
# Binds a sign-in to the browser that started it; only its hash is stored.
BROWSER_COOKIE = "agentpress_oauth"

ProviderParam = Annotated[str, PathParameter(description="github or google")]
# `state` is also the name under which Litestar injects the application state, hence the alias. No
# max_length: Litestar's validation errors name the Python parameter, not the alias, and an
# over-long state is simply unknown.
StateParam = Annotated[str | None, QueryParameter(name="state", description="the state the start redirect carried")]
CodeParam = Annotated[str | None, QueryParameter(name="code", max_length=2048, description="the provider's code")]
ErrorParam = Annotated[
    str | None, QueryParameter(name="error", max_length=200, description="set by the provider when sign-in failed")
]


class OAuthController(Controller):
    path = "/auth/oauth"
    tags = ["auth"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get(
        "/{provider:str}/start",
        operation_id="start_oauth_sign_in",
        summary="Redirect to GitHub or Google to sign in; with a bearer token, to link the account instead",
        status_code=302,
    )
    async def start(
        self,
        conn: Conn,
        settings: AppSettings,
        limits: LimitsDep,
        request: Request[Any, Any, Any],
        provider: ProviderParam,
    ) -> Redirect:
        # Each start stores a state row: unbounded, a flood of them would fill the table.
        await limits.per_ip("oauth-start", settings.rate_limit_oauth_start_per_ip, "sign-in starts from this address")
        config = _config(settings, provider)
        link_user_id: UUID | None = None
        # A token that is sent but no longer valid is refused rather than ignored: ignoring it would
        # turn the linking the client asked for into a sign-in, possibly as someone else.
        if "authorization" in request.headers:
            token = bearer_token(request)
            if token is None:
                raise unauthorized()
            linking = await authenticate(conn, settings, token)
            require_verified(linking, f"link a {config.label} account")
            link_user_id = linking.id
        state, code_verifier, browser_nonce = new_token(), oauth_providers.new_code_verifier(), new_token()
        await oauth_repo.delete_expired_oauth_states(conn)
        state_hash = hash_token(state)
        await oauth_repo.create_oauth_state(
            conn,
            state_hash=state_hash,
            provider=config.name,
            code_verifier=encryptor(settings).encrypt(code_verifier, binding=oauth_code_verifier(state_hash)),
            browser_hash=hash_token(browser_nonce),
            user_id=link_user_id,
            expires_at=oauth_providers.state_expires_at(),
        )
        redirect_uri = _redirect_uri(request, settings, config.name)
        # The callback must come back with this cookie: a provider link started by someone else and
        # sent to a victim would otherwise sign the victim in to, or link their account with, the
        # sender's (login CSRF).
        cookie = Cookie(
            key=BROWSER_COOKIE,
            value=browser_nonce,
            path=request.app.route_reverse(CALLBACK_ROUTE, provider=config.name),
            max_age=int(oauth_providers.STATE_TTL.total_seconds()),
            httponly=True,
            secure=settings.public_base_url.startswith("https://"),
            samesite="lax",
        )
        return Redirect(
            path=oauth_providers.authorize_url(
                config, redirect_uri=redirect_uri, state=state, code_verifier=code_verifier
            ),
            cookies=[cookie],
        )

    @get(
        "/{provider:str}/callback",
        operation_id="finish_oauth_sign_in",
        name=CALLBACK_ROUTE,
        summary="Where the provider sends the browser back: sign in, sign up or link, and answer a session token",
    )
    async def callback(
        self,
        db: Db,
        cache: CacheDep,
        settings: AppSettings,
        request: Request[Any, Any, Any],
        provider: ProviderParam,
        code: CodeParam = None,
        oauth_state: StateParam = None,
        error: ErrorParam = None,
    ) -> SignedIn:
        config = _config(settings, provider)
        # `db`, not `conn`: a connection only around the SQL, none while the provider answers (up to three
        # calls of up to 10 s), so that a slow provider cannot starve every other request.
        browser_nonce = request.cookies.get(BROWSER_COOKIE)
        async with db.connection() as conn:
            spent = None
            if oauth_state and browser_nonce:
                spent = await oauth_repo.consume_oauth_state(
                    conn,
                    state_hash=hash_token(oauth_state),
                    browser_hash=hash_token(browser_nonce),
                    provider=config.name,
                )
        if error is not None:
            raise ApiError(
                400,
                "invalid_request",
                f"{config.label} did not sign you in: {error}",
                [FieldError(field="error", message=error)],
            )
        # A verifier that does not decrypt: APP_SECRET_KEY changed mid sign-in, or it was copied from another state.
        code_verifier = (
            encryptor(settings).decrypt(spent.code_verifier, binding=oauth_code_verifier(hash_token(oauth_state)))
            if spent and oauth_state
            else None
        )
        if spent is None or code_verifier is None:
            raise field_error(
                400, "invalid_request", "state", "is missing, unknown, expired or already used; start the sign-in again"
            )
        if not code:
            raise field_error(400, "invalid_request", "code", "is required")
        tokens, identity = await oauth_providers.fetch_sign_in(
            resources(request.app.state).oauth_http,
            settings,
            config,
            code=code,
            code_verifier=code_verifier,
            redirect_uri=_redirect_uri(request, settings, config.name),
        )
        async with db.connection() as conn:
            signed_in = await oauth_providers.complete_sign_in(
                conn,
                settings,
                request,
                identity=identity,
                tokens=tokens,
                link_user_id=spent.user_id,
            )
            # A link or a verification changed the user that their cached sessions carry.
            await forget_users(conn, cache, settings, user_ids=[signed_in.user.id])
        return signed_in


def _config(settings: Settings, provider: str) -> oauth_providers.ProviderConfig:
    config = oauth_providers.provider_config(settings, provider)
    if config is None:
        raise not_found("provider")
    return config


def _redirect_uri(request: Request[Any, Any, Any], settings: Settings, provider: str) -> str:
    """The callback's public URL; the token request must repeat exactly what the authorize request sent."""
    path = request.app.route_reverse(CALLBACK_ROUTE, provider=provider)
    return f"{settings.public_base_url}{path}"
