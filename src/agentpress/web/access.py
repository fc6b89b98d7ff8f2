"""Who is asking: the signed-in user or org API key from the bearer token, the org they act in, what they may do.

What a token verifies to (the session's user with their home org, an API key, the user's access to an org
named by X-Org-Id) is cached in Redis for SESSION_CACHE_SECONDS (web/cache.py AuthCache), so that a request
served from the cache sends PostgreSQL nothing but the throttled last-seen write. Every change to them
forgets the entries after it commits: forget_session, forget_users, forget_api_keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import HeaderParameter
from psycopg import AsyncConnection
from pydantic import TypeAdapter

from agentpress.models.api_keys import ApiKeyScope, ServiceKey
from agentpress.models.orgs import OrgAccess, OrgRole
from agentpress.models.users import SessionUser
from agentpress.repositories import api_keys, orgs, sessions
from agentpress.services.crypto import hash_token
from agentpress.settings import Settings
from agentpress.web.cache import AuthCache, Cache, Cached, auth_key, cache_key
from agentpress.web.connections import RequestDatabase
from agentpress.web.dependencies import AppSettings, CacheDep, Db
from agentpress.web.errors import field_error, forbidden, not_found, unauthorized

# last_seen_at (sessions) and last_used_at (API keys) are written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 128
ORG_HEADER = "X-Org-Id"
# Every API key token starts with it, and no session token can: "." is not in the URL-safe base64 alphabet of
# session tokens (security.new_token). So a token is looked up in one table only.
API_KEY_PREFIX = "apk."
SESSION_ADAPTER: TypeAdapter[SessionUser] = TypeAdapter(SessionUser)
KEY_ADAPTER: TypeAdapter[ServiceKey] = TypeAdapter(ServiceKey)
ACCESS_ADAPTER: TypeAdapter[OrgAccess] = TypeAdapter(OrgAccess)
# Sessions revoked or expired this long ago may still have entries: forget_users looks that far back.
FORGET_MARGIN = timedelta(minutes=1)
_NO_AUTH_CACHE = AuthCache(None)  # SESSION_CACHE_SECONDS=0: every request asks PostgreSQL


@dataclass(frozen=True)
class OrgContext:
    """The org a request acts in, and the user's role there (None: a platform admin who is not a member)."""

    org_id: UUID
    role: OrgRole | None
    user: SessionUser

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage the org's members and resources; platform admins everywhere."""
        return self.user.role == "admin" or self.role in ("owner", "admin")

    def require_manager(self) -> None:
        """For changes: owners and admins (platform admins everywhere), never platform guests."""
        require_not_guest(self.user)
        if not self.can_manage:
            raise forbidden("only the org's owners and admins may do this")

    def require_writer(self) -> None:
        """Members use the org's resources; platform guests only read."""
        require_not_guest(self.user)


@dataclass(frozen=True)
class Caller:
    """Who is asking on a route that takes org API keys as well as signed-in users: a user acting in an org
    (`org`), or an org's API key (`key`); exactly one of them."""

    org_id: UUID
    org: OrgContext | None = None
    key: ServiceKey | None = None

    def require_scope(self, scope: ApiKeyScope) -> None:
        """For a key: 403 unless it was given the scope. (Users are held to their role by the route.)"""
        if self.key is not None and scope not in self.key.scopes:
            raise forbidden(f"this API key lacks the {scope} scope")


CurrentUser = NamedDependency[SessionUser]
"""A handler parameter `current_user: CurrentUser` requires a signed-in user."""
Org = NamedDependency[OrgContext]
"""A handler parameter `org: Org` requires a signed-in user acting in an org they can see."""
CallerDep = NamedDependency[Caller]
"""A handler parameter `caller: CallerDep` takes a signed-in user acting in an org, or an org API key."""


def require_not_guest(user: SessionUser) -> None:
    if user.role == "guest":
        raise forbidden("guests may read but not create or change anything")


def require_platform_admin(user: SessionUser) -> None:
    if user.role != "admin":
        raise forbidden("only platform admins may do this")


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def is_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)


async def provide_current_user(
    request: Request[Any, Any, Any], db: Db, settings: AppSettings, cache: CacheDep
) -> SessionUser:
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
    if is_api_key(token):
        # Not looked up: whether the key is live or not, it is not what this route takes.
        raise forbidden(
            "an API key is not a signed-in user: this route needs a session token; API keys are taken by the "
            "task queue and thread message routes only"
        )
    return await authenticate_cached(db, cache, settings, token)


async def authenticate(conn: AsyncConnection[Any], settings: Settings, token: str) -> SessionUser:
    """The user of a session token; 401 when it is invalid, expired, idle too long or revoked."""
    user = await sessions.get_session_user(
        conn, token_hash=hash_token(token), idle_timeout=timedelta(hours=settings.session_idle_timeout_hours)
    )
    if user is None:
        raise unauthorized("the token is invalid, expired, idle too long or revoked")
    if datetime.now(UTC) - user.session_last_seen_at > TOUCH_INTERVAL:
        await sessions.touch_session(conn, session_id=user.session_id)
    return user


def session_key(token_hash: bytes) -> str:
    return auth_key("session", token_hash.hex())


def api_key_key(token_hash: bytes) -> str:
    return auth_key("apikey", token_hash.hex())


def access_key(*, org_id: UUID, user_id: UUID) -> str:
    return cache_key(org_id, "access", user_id)


def _seconds_left(settings: Settings, valid_until: datetime | None) -> float:
    """How long an entry may live: SESSION_CACHE_SECONDS, and never past what it verifies."""
    seconds = float(settings.session_cache_seconds)
    if valid_until is not None:
        seconds = min(seconds, (valid_until - datetime.now(UTC)).total_seconds())
    return seconds


def _auth(cache: Cache, settings: Settings) -> AuthCache:
    return cache.auth if settings.session_cache_seconds > 0 else _NO_AUTH_CACHE


def _session_valid_until(settings: Settings, user: SessionUser) -> datetime:
    idle = user.session_last_seen_at + timedelta(hours=settings.session_idle_timeout_hours)
    return min(user.session_expires_at, idle)


async def authenticate_cached(db: RequestDatabase, cache: Cache, settings: Settings, token: str) -> SessionUser:
    """authenticate, through the session cache: a hit takes no connection unless last_seen_at is due."""
    token_hash = hash_token(token)
    key = session_key(token_hash)
    idle_timeout = timedelta(hours=settings.session_idle_timeout_hours)
    touched: list[bool] = []

    async def load() -> SessionUser | None:
        async with db.connection() as conn:
            user = await sessions.get_session_user(conn, token_hash=token_hash, idle_timeout=idle_timeout)
            if user is not None and datetime.now(UTC) - user.session_last_seen_at > TOUCH_INTERVAL:
                await sessions.touch_session(conn, session_id=user.session_id)
                touched.append(True)
        # Cached as touched, so that the next requests do not write it again.
        return user.model_copy(update={"session_last_seen_at": datetime.now(UTC)}) if touched and user else user

    def ttl(user: SessionUser) -> float:
        return _seconds_left(settings, _session_valid_until(settings, user))

    cached = await _auth(cache, settings).get_or_load(key, SESSION_ADAPTER, load, ttl)
    if cached is not None and _session_valid_until(settings, cached.value) <= datetime.now(UTC):
        # Expired or idle since it was cached: PostgreSQL decides (and says no).
        user = await load()
        cached = None if user is None else Cached(user, None)
    if cached is None:
        raise unauthorized("the token is invalid, expired, idle too long or revoked")
    user = cached.value
    if not touched and datetime.now(UTC) - user.session_last_seen_at > TOUCH_INTERVAL:
        async with db.connection() as conn:
            await sessions.touch_session(conn, session_id=user.session_id)
        user = user.model_copy(update={"session_last_seen_at": datetime.now(UTC)})
        await cache.auth.replace(key, cached, SESSION_ADAPTER, user, ttl(user))
    return user


async def authenticate_key_cached(db: RequestDatabase, cache: Cache, settings: Settings, token: str) -> ServiceKey:
    """The org API key of a token, through the session cache; 401 when it is unknown, expired or revoked."""
    token_hash = hash_token(token)
    key = api_key_key(token_hash)
    touched: list[bool] = []

    async def load() -> ServiceKey | None:
        async with db.connection() as conn:
            found = await api_keys.get_api_key_for_token(conn, token_hash=token_hash)
            if found is not None and (
                found.last_used_at is None or datetime.now(UTC) - found.last_used_at > TOUCH_INTERVAL
            ):
                await api_keys.touch_api_key(conn, api_key_id=found.id)
                touched.append(True)
        return found.model_copy(update={"last_used_at": datetime.now(UTC)}) if touched and found else found

    def ttl(found: ServiceKey) -> float:
        return _seconds_left(settings, found.expires_at)

    cached = await _auth(cache, settings).get_or_load(key, KEY_ADAPTER, load, ttl)
    if cached is not None and cached.value.expires_at is not None and cached.value.expires_at <= datetime.now(UTC):
        found = await load()
        cached = None if found is None else Cached(found, None)
    if cached is None:
        raise unauthorized("the API key is invalid, expired or revoked")
    service_key = cached.value
    last_used = service_key.last_used_at
    if not touched and (last_used is None or datetime.now(UTC) - last_used > TOUCH_INTERVAL):
        async with db.connection() as conn:
            await api_keys.touch_api_key(conn, api_key_id=service_key.id)
        service_key = service_key.model_copy(update={"last_used_at": datetime.now(UTC)})
        await cache.auth.replace(key, cached, KEY_ADAPTER, service_key, ttl(service_key))
    return service_key


async def forget_session(cache: Cache, *, token: str) -> None:
    """After a sign-out commits: this token's entry goes."""
    await cache.auth.invalidate(session_key(hash_token(token)))


async def forget_users(
    conn: AsyncConnection[Any],
    cache: Cache,
    settings: Settings,
    *,
    user_ids: list[UUID],
    org_ids: tuple[UUID, ...] = (),
) -> None:
    """After a change to these users commits (revocation, role, disabling, a membership, a password reset):
    the entries of every session they may have cached, and of their access to `org_ids`.

    The sessions are listed now, after the commit: a fill that read the state before the change read a
    session that existed before the commit, so it is listed. When PostgreSQL cannot list them, every
    entry goes (an epoch bump) before the error does.
    """
    if cache.auth.redis is None or not user_ids:
        return
    recent = timedelta(seconds=settings.session_cache_seconds) + FORGET_MARGIN
    try:
        hashes = await sessions.list_session_token_hashes_for_users(conn, user_ids=user_ids, recent=recent)
    except BaseException:
        await cache.auth.forget_all()
        raise
    access = [access_key(org_id=org_id, user_id=user_id) for org_id in org_ids for user_id in user_ids]
    await cache.auth.invalidate(*(session_key(token_hash) for token_hash in hashes), *access)


async def forget_api_keys(cache: Cache, *, token_hashes: list[bytes]) -> None:
    """After a key's revocation or its org's deletion commits."""
    await cache.auth.invalidate(*(api_key_key(token_hash) for token_hash in token_hashes))


def _named_org(request: Request[Any, Any, Any]) -> UUID | None:
    header = request.headers.get(ORG_HEADER)
    if header is None:
        return None
    try:
        return UUID(header)
    except ValueError:
        raise field_error(400, "invalid_request", ORG_HEADER, "must be an org id (a UUID)") from None


OrgHeader = Annotated[
    str | None,
    HeaderParameter(
        name=ORG_HEADER,
        required=False,
        description="the org to act in (an org id); by default the user's home org, an API key's own org",
        schema_extra={"type": "string", "format": "uuid", "one_of": None},
    ),
]
"""X-Org-Id, for the document: _named_org reads it (a 400 naming it when it is not an org id)."""


async def provide_caller(
    request: Request[Any, Any, Any], db: Db, settings: AppSettings, cache: CacheDep, org_header: OrgHeader = None
) -> Caller:
    """An org API key acting for its org (X-Org-Id may name only that one: any other is 404), or a signed-in
    user in the org named by X-Org-Id, else their home org, as `org` resolves it."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
    if not is_api_key(token):
        user = await authenticate_cached(db, cache, settings, token)
        org = await provide_org(request, db, settings, cache, user)
        return Caller(org_id=org.org_id, org=org)
    named = _named_org(request)
    key = await authenticate_key_cached(db, cache, settings, token)
    if named is not None and named != key.org_id:
        raise not_found("org")
    return Caller(org_id=key.org_id, key=key)


async def provide_org(
    request: Request[Any, Any, Any],
    db: Db,
    settings: AppSettings,
    cache: CacheDep,
    current_user: CurrentUser,
    org_header: OrgHeader = None,
) -> OrgContext:
    """The org named by X-Org-Id, else the user's home org. Another org's id answers 404, never 403."""
    org_id = _named_org(request)
    if org_id is not None:
        return await _cached_org_context(db, cache, settings, org_id=org_id, user=current_user)
    # The home org came with the session (sessions.get_session_user): no round trip of its own. It is
    # one the user belongs to, so there is always a role.
    if current_user.home_org_id is None:
        raise not_found("org")
    return OrgContext(org_id=current_user.home_org_id, role=current_user.home_org_role, user=current_user)


async def org_context_for(conn: AsyncConnection[Any], *, org_id: UUID, user: SessionUser) -> OrgContext:
    """The user's standing in an org; 404 when it does not exist or they are neither a member nor a platform admin.

    Never 403: an outsider is not told whether another org's id exists.
    """
    access = await orgs.get_org_access(conn, org_id=org_id, user_id=user.id)
    if access is None or (access.role is None and user.role != "admin"):
        raise not_found("org")
    return OrgContext(org_id=access.org_id, role=access.role, user=user)


async def _cached_org_context(
    db: RequestDatabase, cache: Cache, settings: Settings, *, org_id: UUID, user: SessionUser
) -> OrgContext:
    """org_context_for through the session cache: the user's role in the org (none: not a member) is kept per
    org and user; an org that does not exist is not."""

    async def load() -> OrgAccess | None:
        async with db.connection() as conn:
            return await orgs.get_org_access(conn, org_id=org_id, user_id=user.id)

    cached = await _auth(cache, settings).get_or_load(
        access_key(org_id=org_id, user_id=user.id), ACCESS_ADAPTER, load, lambda _: _seconds_left(settings, None)
    )
    access = None if cached is None else cached.value
    if access is None or access.org_id != org_id or (access.role is None and user.role != "admin"):
        raise not_found("org")
    return OrgContext(org_id=access.org_id, role=access.role, user=user)
