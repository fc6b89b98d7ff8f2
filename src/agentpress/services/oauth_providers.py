"""OAuth sign-in with GitHub and Google: authorize URLs with PKCE, the code exchange, the identity, the account."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlencode
from uuid import UUID

import httpx
from litestar import Request
from psycopg import AsyncConnection
from pydantic import BaseModel, SecretStr, ValidationError

from agentpress.models.oauth import OAuthProvider
from agentpress.models.users import SignedIn, User
from agentpress.repositories import email_verifications, users
from agentpress.repositories import oauth as oauth_repo
from agentpress.services.accounts import create_account, start_session
from agentpress.services.crypto import encryptor, oauth_token
from agentpress.services.mail import queue_email
from agentpress.services.verification import require_verified
from agentpress.settings import Settings
from agentpress.web.errors import ApiError, FieldError, field_error, unauthorized
from agentpress.web.upstream import upstream_failure

log = logging.getLogger("agentpress.services.oauth_providers")
M = TypeVar("M", bound=BaseModel)

STATE_TTL = timedelta(minutes=10)
# Per connect, read, write and pool wait; a callback makes at most three calls to the provider.
HTTP_TIMEOUT = httpx.Timeout(10.0)
# The providers' client is one for the process (create_http_client): connections reused, and bounded.
HTTP_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=10)
# Of a provider's answer, this much goes to the log (never to the caller).
MAX_LOGGED_BODY_CHARS = 300
USER_AGENT = "AgentPress"  # GitHub's API refuses requests without a User-Agent
LABELS: dict[OAuthProvider, str] = {"github": "GitHub", "google": "Google"}
# What the token endpoint says about a code that is wrong, expired, already used or bound to
# another PKCE verifier: the client's fault, so 400 rather than 502. GitHub says it its own way.
REJECTED_CODE_ERRORS = frozenset({"invalid_grant", "bad_verification_code"})


@dataclass(frozen=True)
class ProviderConfig:
    name: OAuthProvider
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str
    scope: str

    @property
    def label(self) -> str:
        return LABELS[self.name]


@dataclass(frozen=True)
class ProviderTokens:
    """What the token endpoint granted; the tokens are encrypted before they are stored and never answered."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    scopes: list[str]
    expires_at: datetime | None


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says signed in."""

    provider: OAuthProvider
    provider_id: str
    email: str | None
    is_email_verified: bool
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    avatar_url: str | None = None


def provider_config(settings: Settings, name: str) -> ProviderConfig | None:
    """The provider's settings; None when it is unknown or has no client id and secret."""
    if name == "github" and settings.github_client_id and settings.github_client_secret:
        return ProviderConfig(
            name="github",
            client_id=settings.github_client_id,
            client_secret=settings.github_client_secret.get_secret_value(),
            authorize_url=settings.github_authorize_url,
            token_url=settings.github_token_url,
            scope="read:user user:email",
        )
    if name == "google" and settings.google_client_id and settings.google_client_secret:
        return ProviderConfig(
            name="google",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            authorize_url=settings.google_authorize_url,
            token_url=settings.google_token_url,
            scope="openid email profile",
        )
    return None


def new_code_verifier() -> str:
    """A PKCE code verifier: 86 URL-safe characters (RFC 7636 allows 43 to 128)."""
    return secrets.token_urlsafe(64)


def code_challenge(code_verifier: str) -> str:
    """The S256 challenge: base64url of the verifier's SHA-256, without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(config: ProviderConfig, *, redirect_uri: str, state: str, code_verifier: str) -> str:
    params = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "scope": config.scope,
        "state": state,
        "code_challenge": code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in config.authorize_url else "?"
    return f"{config.authorize_url}{separator}{urlencode(params, quote_via=quote)}"


def state_expires_at() -> datetime:
    return datetime.now(UTC) + STATE_TTL


def create_http_client() -> httpx.AsyncClient:
    """The client for every call to GitHub and Google; the lifespan opens one and closes it at shutdown."""
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=HTTP_LIMITS, headers={"User-Agent": USER_AGENT})


def bad_gateway(config: ProviderConfig, detail: str, provider_detail: str | None = None) -> ApiError:
    """502 in our words with a request id; what the provider said is logged under that id, never answered."""
    return upstream_failure(
        log,
        f"{config.label} {detail}; try signing in again later",
        provider_detail=provider_detail,
        provider=config.name,
    )


def _said(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:MAX_LOGGED_BODY_CHARS]}"


class _TokenAnswer(BaseModel):
    access_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    expires_in: int | None = None
    scope: str | None = None
    error: str | None = None


class _GitHubUser(BaseModel):
    id: int
    login: str
    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None


class _GitHubEmail(BaseModel):
    email: str
    primary: bool = False
    verified: bool = False


class _GoogleUser(BaseModel):
    sub: str
    email: str | None = None
    email_verified: bool = False
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    picture: str | None = None


async def fetch_sign_in(
    client: httpx.AsyncClient,
    settings: Settings,
    config: ProviderConfig,
    *,
    code: str,
    code_verifier: str,
    redirect_uri: str,
) -> tuple[ProviderTokens, ProviderIdentity]:
    """Exchange the code for tokens, then ask the provider who they belong to (client: create_http_client's)."""
    tokens = await _exchange_code(client, config, code=code, code_verifier=code_verifier, redirect_uri=redirect_uri)
    if config.name == "github":
        identity = await _github_identity(client, settings, config, tokens.access_token)
    else:
        identity = await _google_identity(client, settings, config, tokens.access_token)
    return tokens, identity


async def _exchange_code(
    client: httpx.AsyncClient, config: ProviderConfig, *, code: str, code_verifier: str, redirect_uri: str
) -> ProviderTokens:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "code_verifier": code_verifier,
    }
    response = await _send(client, config, "POST", config.token_url, data=form, headers={"Accept": "application/json"})
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if error in REJECTED_CODE_ERRORS:
        raise field_error(400, "invalid_request", "code", f"was rejected by {config.label}; start the sign-in again")
    if not response.is_success or error is not None:
        raise bad_gateway(config, "refused the token request", _said(response))
    answer = _parse(config, _TokenAnswer, body)
    if answer.access_token is None:
        raise bad_gateway(config, "answered the token request without an access token")
    # GitHub separates scopes with commas, Google (and RFC 6749) with spaces.
    scopes = (answer.scope if answer.scope is not None else config.scope).replace(",", " ").split()
    return ProviderTokens(
        access_token=answer.access_token.get_secret_value(),
        refresh_token=answer.refresh_token.get_secret_value() if answer.refresh_token else None,
        scopes=scopes,
        expires_at=datetime.now(UTC) + timedelta(seconds=answer.expires_in) if answer.expires_in else None,
    )


async def _github_identity(
    client: httpx.AsyncClient, settings: Settings, config: ProviderConfig, access_token: str
) -> ProviderIdentity:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/vnd.github+json"}
    api = settings.github_api_url.rstrip("/")
    user = _parse(config, _GitHubUser, await _get_json(client, config, f"{api}/user", headers))
    # GitHub shows only a verified address as the profile's public email.
    email, is_verified = user.email, user.email is not None
    if email is None:
        listed = await _get_json(client, config, f"{api}/user/emails", headers)
        if not isinstance(listed, list):
            raise bad_gateway(config, "answered in an unexpected shape", f"/user/emails is a {type(listed).__name__}")
        emails = [_parse(config, _GitHubEmail, item) for item in listed]
        primary = next((item for item in emails if item.primary and item.verified), None)
        email, is_verified = (primary.email, True) if primary else (None, False)
    return ProviderIdentity(
        provider="github",
        provider_id=str(user.id),
        email=email,
        is_email_verified=is_verified,
        username=user.login,
        display_name=user.name or user.login,
        avatar_url=user.avatar_url,
    )


async def _google_identity(
    client: httpx.AsyncClient, settings: Settings, config: ProviderConfig, access_token: str
) -> ProviderIdentity:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    user = _parse(config, _GoogleUser, await _get_json(client, config, settings.google_userinfo_url, headers))
    return ProviderIdentity(
        provider="google",
        provider_id=user.sub,
        email=user.email,
        is_email_verified=user.email is not None and user.email_verified,
        first_name=user.given_name,
        last_name=user.family_name,
        display_name=user.name,
        avatar_url=user.picture,
    )


async def _send(
    client: httpx.AsyncClient, config: ProviderConfig, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    try:
        return await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise bad_gateway(config, "could not be reached", f"{method} {url}: {exc!r}") from None


async def _get_json(client: httpx.AsyncClient, config: ProviderConfig, url: str, headers: dict[str, str]) -> Any:
    response = await _send(client, config, "GET", url, headers=headers)
    if not response.is_success:
        raise bad_gateway(config, "refused to say who signed in", f"GET {url}: {_said(response)}")
    try:
        return response.json()
    except ValueError:
        raise bad_gateway(config, "answered with something other than JSON", f"GET {url}: {_said(response)}") from None


def _parse(config: ProviderConfig, model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        # The fields at fault, not their values: a token answer holds the tokens.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        raise bad_gateway(config, "answered in an unexpected shape", f"{model.__name__}: {problems}") from None


async def complete_sign_in(
    conn: AsyncConnection[Any],
    settings: Settings,
    request: Request[Any, Any, Any],
    *,
    identity: ProviderIdentity,
    tokens: ProviderTokens,
    link_user_id: UUID | None,
) -> SignedIn:
    """Find, link or create the user of this provider account, store its tokens and start a session: all or nothing."""
    token_encryptor = encryptor(settings)
    async with conn.transaction():
        user, is_new_link = await _resolve_user(conn, settings, identity, link_user_id)
        if user.is_disabled:
            raise unauthorized("this account is disabled")
        if link_user_id is not None:
            # Checked when the link started too; again here for links started before that check existed.
            require_verified(user, f"link a {LABELS[identity.provider]} account")
        elif not user.is_email_verified and _vouches_for(identity, user.email):
            # The provider says this very address is its account holder's, verified: as good as our link.
            await email_verifications.mark_email_verified(conn, user_id=user.id, email=user.email)
            user = user.model_copy(update={"is_email_verified": True})
        connection = await oauth_repo.upsert_oauth_connection(
            conn,
            user_id=user.id,
            provider=identity.provider,
            provider_id=identity.provider_id,
            access_token=token_encryptor.encrypt(
                tokens.access_token, binding=oauth_token("access_token", identity.provider, identity.provider_id)
            ),
            refresh_token=token_encryptor.encrypt(
                tokens.refresh_token, binding=oauth_token("refresh_token", identity.provider, identity.provider_id)
            )
            if tokens.refresh_token
            else None,
            scopes=tokens.scopes,
            expires_at=tokens.expires_at,
        )
        if connection is None:
            # Linked to someone else since _resolve_user looked: a concurrent sign-in won.
            raise _linked_to_another_user(identity)
        if is_new_link:
            await _queue_linked_mail(conn, settings, user, identity)
        return await start_session(conn, settings, user, request)


def _vouches_for(identity: ProviderIdentity, email: str) -> bool:
    return identity.is_email_verified and identity.email is not None and identity.email.casefold() == email.casefold()


async def _queue_linked_mail(
    conn: AsyncConnection[Any], settings: Settings, user: User, identity: ProviderIdentity
) -> None:
    """Tell the account's address of every new way into it: a link its owner did not make is then noticed."""
    label = LABELS[identity.provider]
    account = f" ({identity.username})" if identity.username else ""
    await queue_email(
        conn,
        settings,
        kind="oauth_linked",
        to_email=user.email,
        subject=f"A {label} account was linked to your AgentPress account",
        body=(
            f"A {label} account{account} was linked to your AgentPress account: it can sign in as you from now on.\n\n"
            "If that was you, there is nothing to do. If it was not, reset your password at "
            f"{settings.public_base_url}/reset-password and tell your administrator."
        ),
    )


async def _resolve_user(
    conn: AsyncConnection[Any], settings: Settings, identity: ProviderIdentity, link_user_id: UUID | None
) -> tuple[User, bool]:
    """The user, and whether the provider account is newly linked to an account that existed before.

    Never by email: a sign-in whose verified email belongs to an existing account is refused (409 naming
    email), not attached to it. That account may be unverified, registered by someone who is not the
    address's owner, and the address's owner may not be the one signing in.
    """
    connection = await oauth_repo.get_oauth_connection(
        conn, provider=identity.provider, provider_id=identity.provider_id
    )
    is_new_link = connection is None
    if connection is not None:
        if link_user_id is not None and connection.user_id != link_user_id:
            raise _linked_to_another_user(identity)
        user = await users.get_user(conn, user_id=connection.user_id)
    elif link_user_id is not None:
        user = await _set_provider_id(conn, identity, link_user_id)
    else:
        # Users imported with a provider id but no connection yet sign in as themselves.
        user = await _get_user_by_provider_id(conn, identity)
        if user is None:
            # A new account: its own address, verified by the provider; no mail about a link to it.
            user, is_new_link = await _create_user(conn, settings, identity), False
    if user is None:
        raise unauthorized("the account no longer exists")
    return user, is_new_link


async def _set_provider_id(conn: AsyncConnection[Any], identity: ProviderIdentity, user_id: UUID) -> User | None:
    if identity.provider == "github":
        return await users.update_user_github_identity(
            conn, user_id=user_id, github_id=identity.provider_id, github_username=identity.username
        )
    return await users.update_user_google_id(conn, user_id=user_id, google_id=identity.provider_id)


async def _get_user_by_provider_id(conn: AsyncConnection[Any], identity: ProviderIdentity) -> User | None:
    if identity.provider == "github":
        return await users.get_user_by_github_id(conn, github_id=identity.provider_id)
    return await users.get_user_by_google_id(conn, google_id=identity.provider_id)


async def _create_user(conn: AsyncConnection[Any], settings: Settings, identity: ProviderIdentity) -> User:
    # An unverified address could be anyone's: signing up with it would take it from its owner.
    if identity.email is None or not identity.is_email_verified:
        raise field_error(
            422, "invalid_value", "email", f"is missing: the {LABELS[identity.provider]} account has no verified email"
        )
    is_github = identity.provider == "github"
    # An email that belongs to another account fails users_email_key: 409 naming email, all rolled back.
    return await create_account(
        conn,
        settings,
        email=identity.email,
        provider=identity.provider,
        github_id=identity.provider_id if is_github else None,
        github_username=identity.username if is_github else None,
        google_id=None if is_github else identity.provider_id,
        first_name=identity.first_name,
        last_name=identity.last_name,
        display_name=identity.display_name,
        avatar_url=identity.avatar_url,
        is_email_verified=identity.is_email_verified,
    )


def _linked_to_another_user(identity: ProviderIdentity) -> ApiError:
    label = LABELS[identity.provider]
    return ApiError(
        409,
        "conflict",
        f"this {label} account is linked to another user",
        [FieldError(field="provider_id", message="is linked to another user")],
    )
