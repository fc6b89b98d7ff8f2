"""Model providers (with their API keys encrypted at rest) and the models agents may use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from psycopg import AsyncConnection
from psycopg import errors as pg

from agentpress.models.llms import (
    Model,
    ModelCreate,
    ModelProvider,
    ModelProviderCreate,
    ModelProviderUpdate,
    ModelUpdate,
)
from agentpress.repositories import llms
from agentpress.services.crypto import encryptor, provider_api_key
from agentpress.services.patching import lock_merge_write, sent
from agentpress.web.access import Org
from agentpress.web.dependencies import AppSettings, Conn
from agentpress.web.errors import ApiError, field_error, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset

PROVIDER_PATH = "/{provider_id:uuid}"
MODEL_PATH = "/{model_id:uuid}"


def _unknown_provider() -> ApiError:
    return field_error(422, "invalid_reference", "provider_id", "refers to no model provider of this org")


# The org's constraints, each named by the one field the client can change, with a message that
# says more than the generic mapping's (which names every column of the key but org_id).
_CONSTRAINT_ERRORS = {
    "model_providers_org_id_name_key": lambda: field_error(409, "conflict", "name", "already exists"),
    "models_org_id_provider_id_name_key": lambda: field_error(
        409, "conflict", "name", "already exists for this provider"
    ),
    # Only a concurrent request can get here: making a model the default un-defaults the previous one first.
    "models_org_id_is_default_idx": lambda: field_error(
        409, "conflict", "is_default", "another model was made the default at the same time; try again"
    ),
    # A provider deleted between the check and the write.
    "models_provider_id_fkey": _unknown_provider,
}


@contextmanager
def _constraint_errors() -> Iterator[None]:
    try:
        yield
    except (pg.UniqueViolation, pg.ForeignKeyViolation) as exc:
        error = _CONSTRAINT_ERRORS.get(exc.diag.constraint_name or "")
        if error is None:
            raise
        raise error() from exc


async def _check_provider(conn: AsyncConnection[Any], org_id: UUID, current: Model, merged: Model) -> None:
    """A model moved to another provider: that provider must be the org's (422 naming provider_id)."""
    if merged.provider_id != current.provider_id and (
        await llms.get_model_provider(conn, org_id=org_id, provider_id=merged.provider_id) is None
    ):
        raise _unknown_provider()


class ModelProvidersController(Controller):
    path = "/model-providers"
    tags = ["models"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get("/", operation_id="list_model_providers", summary="The org's model providers, by name")
    async def list_model_providers(
        self,
        conn: Conn,
        org: Org,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[ModelProvider]:
        items = await llms.list_model_providers(
            conn, org_id=org.org_id, limit=page_size, offset=offset(page, page_size)
        )
        total = await llms.count_model_providers(conn, org_id=org.org_id)
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post(
        "/",
        operation_id="create_model_provider",
        summary="Add a model provider (owners and admins); its API key is stored encrypted and never returned",
    )
    async def create_model_provider(
        self, conn: Conn, settings: AppSettings, org: Org, data: JSONBody[ModelProviderCreate]
    ) -> ModelProvider:
        org.require_manager()
        provider_id = uuid4()  # made here, so that the key's ciphertext can be bound to its row
        api_key = (
            None
            if data.api_key is None
            else encryptor(settings).encrypt(data.api_key, binding=provider_api_key(provider_id))
        )
        with _constraint_errors():
            return await llms.create_model_provider(
                conn,
                provider_id=provider_id,
                org_id=org.org_id,
                name=data.name,
                kind=data.kind,
                base_url=data.base_url,
                api_key=api_key,
                is_enabled=data.is_enabled,
            )

    @get(PROVIDER_PATH, operation_id="get_model_provider", summary="A model provider of the org")
    async def get_model_provider(self, conn: Conn, org: Org, provider_id: FromPath[UUID]) -> ModelProvider:
        provider = await llms.get_model_provider(conn, org_id=org.org_id, provider_id=provider_id)
        if provider is None:
            raise not_found("model provider")
        return provider

    @patch(
        PROVIDER_PATH,
        operation_id="update_model_provider",
        summary=(
            "Change a model provider (owners and admins): api_key left out keeps the key (unless kind or base_url "
            "changes: then it is removed), null removes it"
        ),
    )
    async def update_model_provider(
        self,
        conn: Conn,
        settings: AppSettings,
        org: Org,
        provider_id: FromPath[UUID],
        data: JSONBody[ModelProviderUpdate],
    ) -> ModelProvider:
        org.require_manager()
        fields_sent = data.model_fields_set
        set_api_key = "api_key" in fields_sent
        api_key = (
            None
            if data.api_key is None
            else encryptor(settings).encrypt(data.api_key, binding=provider_api_key(provider_id))
        )
        with _constraint_errors():
            return await lock_merge_write(
                conn,
                lock=lambda: llms.get_model_provider_for_update(conn, org_id=org.org_id, provider_id=provider_id),
                # The validators let null through only for the fields it clears.
                merge=sent(data.model_dump(include=fields_sent - {"api_key"})),
                write=lambda _, merged: llms.update_model_provider(
                    conn,
                    org_id=org.org_id,
                    provider_id=provider_id,
                    name=merged.name,
                    kind=merged.kind,
                    base_url=merged.base_url,
                    set_api_key=set_api_key,
                    api_key=api_key,
                    is_enabled=merged.is_enabled,
                ),
                missing=not_found("model provider"),
            )

    @delete(
        PROVIDER_PATH,
        operation_id="delete_model_provider",
        summary="Delete a model provider and its models (owners and admins)",
    )
    async def delete_model_provider(self, conn: Conn, org: Org, provider_id: FromPath[UUID]) -> None:
        org.require_manager()
        if not await llms.delete_model_provider(conn, org_id=org.org_id, provider_id=provider_id):
            raise not_found("model provider")


class ModelsController(Controller):
    path = "/models"
    tags = ["models"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get(
        "/", operation_id="list_models", summary="The org's models, by name; optionally of one provider, enabled or not"
    )
    async def list_models(
        self,
        conn: Conn,
        org: Org,
        provider_id: FromQuery[UUID | None] = None,
        is_enabled: FromQuery[bool | None] = None,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[Model]:
        items = await llms.list_models(
            conn,
            org_id=org.org_id,
            provider_id=provider_id,
            is_enabled=is_enabled,
            limit=page_size,
            offset=offset(page, page_size),
        )
        total = await llms.count_models(conn, org_id=org.org_id, provider_id=provider_id, is_enabled=is_enabled)
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post(
        "/",
        operation_id="create_model",
        summary="Add a model of one of the org's providers (owners and admins); a new default replaces the old one",
    )
    async def create_model(self, conn: Conn, org: Org, data: JSONBody[ModelCreate]) -> Model:
        org.require_manager()
        # Checked first for a clear answer; models_provider_id_fkey holds it against a concurrent delete.
        if await llms.get_model_provider(conn, org_id=org.org_id, provider_id=data.provider_id) is None:
            raise _unknown_provider()
        with _constraint_errors():
            return await llms.create_model(
                conn,
                org_id=org.org_id,
                provider_id=data.provider_id,
                name=data.name,
                display_name=data.display_name,
                base_model=data.base_model,
                temperature=data.temperature,
                max_tokens=data.max_tokens,
                is_enabled=data.is_enabled,
                is_default=data.is_default,
            )

    @get(MODEL_PATH, operation_id="get_model", summary="A model of the org")
    async def get_model(self, conn: Conn, org: Org, model_id: FromPath[UUID]) -> Model:
        model = await llms.get_model(conn, org_id=org.org_id, model_id=model_id)
        if model is None:
            raise not_found("model")
        return model

    @patch(
        MODEL_PATH,
        operation_id="update_model",
        summary="Change a model (owners and admins); is_default true un-defaults the org's previous default",
    )
    async def update_model(self, conn: Conn, org: Org, model_id: FromPath[UUID], data: JSONBody[ModelUpdate]) -> Model:
        org.require_manager()
        with _constraint_errors():
            return await lock_merge_write(
                conn,
                lock=lambda: llms.get_model_for_update(conn, org_id=org.org_id, model_id=model_id),
                merge=sent(data.model_dump(include=data.model_fields_set)),
                check=lambda current, merged: _check_provider(conn, org.org_id, current, merged),
                write=lambda _, merged: llms.update_model(
                    conn,
                    org_id=org.org_id,
                    model_id=model_id,
                    provider_id=merged.provider_id,
                    name=merged.name,
                    display_name=merged.display_name,
                    base_model=merged.base_model,
                    temperature=merged.temperature,
                    max_tokens=merged.max_tokens,
                    is_enabled=merged.is_enabled,
                    is_default=merged.is_default,
                ),
                missing=not_found("model"),
            )

    @delete(MODEL_PATH, operation_id="delete_model", summary="Delete a model (owners and admins)")
    async def delete_model(self, conn: Conn, org: Org, model_id: FromPath[UUID]) -> None:
        org.require_manager()
        if not await llms.delete_model(conn, org_id=org.org_id, model_id=model_id):
            raise not_found("model")
