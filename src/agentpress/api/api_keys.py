"""Org API keys: owners and admins make, list and revoke the service credentials of workers and the agent runtime."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from litestar import Controller, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, FromQuery, JSONBody

from agentpress.models.api_keys import API_KEY_SCOPES, ApiKey, ApiKeyCreate, ApiKeyCreated
from agentpress.repositories import api_keys
from agentpress.services.crypto import hash_token, new_token
from agentpress.web.access import API_KEY_PREFIX, Org, forget_api_keys
from agentpress.web.dependencies import CacheDep, Conn
from agentpress.web.errors import field_error, forbidden, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset


def _scopes(requested: list[str]) -> list[str]:
    """The scopes asked for, each once, in the canonical order; an unknown or missing one is a 422 naming scopes."""
    unknown = sorted(set(requested) - set(API_KEY_SCOPES))
    if unknown:
        raise field_error(
            422, "invalid_value", "scopes", f"has unknown scopes {unknown}: choose from {list(API_KEY_SCOPES)}"
        )
    if not requested:
        raise field_error(422, "invalid_value", "scopes", f"must name at least one of {list(API_KEY_SCOPES)}")
    return [scope for scope in API_KEY_SCOPES if scope in requested]


class ApiKeysController(Controller):
    path = "/api-keys"
    tags = ["api keys"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get(
        "/",
        operation_id="list_api_keys",
        summary="The org's API keys, newest first, revoked ones too (owners and admins)",
    )
    async def list_api_keys(
        self,
        conn: Conn,
        org: Org,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[ApiKey]:
        if not org.can_manage:
            raise forbidden("only the org's owners and admins may see its API keys")
        items, total = await api_keys.list_api_keys(
            conn, org_id=org.org_id, limit=page_size, offset=offset(page, page_size)
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post(
        "/",
        operation_id="create_api_key",
        summary="Make an API key for the org (owners and admins): its token is in this answer only",
        description=(
            f"scopes: one or more of {', '.join(API_KEY_SCOPES)}. The key acts for the org: tasks:work claims and "
            "finishes its tasks; messages:read and messages:write read and append to any of its threads."
        ),
        cache_control=CacheControlHeader(no_store=True),
    )
    async def create_api_key(self, conn: Conn, org: Org, data: JSONBody[ApiKeyCreate]) -> ApiKeyCreated:
        org.require_manager()
        scopes = _scopes(data.scopes)
        if data.expires_at is not None and data.expires_at <= datetime.now(UTC):
            raise field_error(422, "invalid_value", "expires_at", "must be in the future")
        token = API_KEY_PREFIX + new_token()
        key = await api_keys.create_api_key(
            conn,
            org_id=org.org_id,
            name=data.name,
            token_hash=hash_token(token),
            scopes=scopes,
            created_by=org.user.id,
            expires_at=data.expires_at,
        )
        return ApiKeyCreated(**key.model_dump(), token=token)

    @post(
        "/{api_key_id:uuid}/revoke",
        operation_id="revoke_api_key",
        status_code=200,
        summary="Revoke an API key of the org (owners and admins); it stops working at once",
    )
    async def revoke_api_key(self, conn: Conn, cache: CacheDep, org: Org, api_key_id: FromPath[UUID]) -> ApiKey:
        org.require_manager()
        key = await api_keys.revoke_api_key(conn, org_id=org.org_id, api_key_id=api_key_id)
        if key is None:
            raise not_found("API key")
        # After the (autocommitted) revocation: the session cache no longer answers for the key.
        hashes = await api_keys.list_api_key_token_hashes(conn, org_id=org.org_id, api_key_id=api_key_id)
        await forget_api_keys(cache, token_hashes=hashes)
        return key
