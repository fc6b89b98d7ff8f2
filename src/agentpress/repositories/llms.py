"""Model providers (API keys stored as the caller encrypted them) and models, with one default model per org."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, Rollback

from agentpress.db.queries import queries
from agentpress.models.llms import Model, ModelProvider, ProviderKind


async def list_model_providers(
    conn: AsyncConnection[Any], *, org_id: UUID, limit: int, offset: int
) -> list[ModelProvider]:
    return await queries.llms.list_model_providers.many(conn, ModelProvider, org_id=org_id, limit=limit, offset=offset)


async def count_model_providers(conn: AsyncConnection[Any], *, org_id: UUID) -> int:
    return await queries.llms.count_model_providers.scalar_required(conn, int, org_id=org_id)


async def get_model_provider(conn: AsyncConnection[Any], *, org_id: UUID, provider_id: UUID) -> ModelProvider | None:
    return await queries.llms.get_model_provider.one(conn, ModelProvider, org_id=org_id, provider_id=provider_id)


async def get_model_provider_for_update(
    conn: AsyncConnection[Any], *, org_id: UUID, provider_id: UUID
) -> ModelProvider | None:
    """The provider, locked until the caller's transaction ends."""
    return await queries.llms.get_model_provider_for_update.one(
        conn, ModelProvider, org_id=org_id, provider_id=provider_id
    )


async def create_model_provider(
    conn: AsyncConnection[Any],
    *,
    provider_id: UUID,
    org_id: UUID,
    name: str,
    kind: ProviderKind,
    base_url: str | None,
    api_key: bytes | None,
    is_enabled: bool,
) -> ModelProvider:
    """Insert a provider; `api_key` is the ciphertext (bound to `provider_id`), never the key itself."""
    return await queries.llms.create_model_provider.one_required(
        conn,
        ModelProvider,
        provider_id=provider_id,
        org_id=org_id,
        name=name,
        kind=kind,
        base_url=base_url,
        api_key=api_key,
        is_enabled=is_enabled,
    )


async def update_model_provider(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    provider_id: UUID,
    name: str,
    kind: ProviderKind,
    base_url: str | None,
    set_api_key: bool,
    api_key: bytes | None,
    is_enabled: bool,
) -> ModelProvider | None:
    """Write every field; the stored key becomes `api_key` (ciphertext, or None to remove it) if `set_api_key`,
    and is removed if not but `kind` or `base_url` changes: the key of one server is not sent to another."""
    return await queries.llms.update_model_provider.one(
        conn,
        ModelProvider,
        org_id=org_id,
        provider_id=provider_id,
        name=name,
        kind=kind,
        base_url=base_url,
        set_api_key=set_api_key,
        api_key=api_key,
        is_enabled=is_enabled,
    )


async def delete_model_provider(conn: AsyncConnection[Any], *, org_id: UUID, provider_id: UUID) -> bool:
    """Delete a provider with its models; False when the org has no such provider."""
    return await queries.llms.delete_model_provider.execrows(conn, org_id=org_id, provider_id=provider_id) > 0


async def list_models(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    provider_id: UUID | None,
    is_enabled: bool | None,
    limit: int,
    offset: int,
) -> list[Model]:
    return await queries.llms.list_models.many(
        conn, Model, org_id=org_id, provider_id=provider_id, is_enabled=is_enabled, limit=limit, offset=offset
    )


async def count_models(
    conn: AsyncConnection[Any], *, org_id: UUID, provider_id: UUID | None, is_enabled: bool | None
) -> int:
    return await queries.llms.count_models.scalar_required(
        conn, int, org_id=org_id, provider_id=provider_id, is_enabled=is_enabled
    )


async def get_model(conn: AsyncConnection[Any], *, org_id: UUID, model_id: UUID) -> Model | None:
    return await queries.llms.get_model.one(conn, Model, org_id=org_id, model_id=model_id)


async def get_model_for_update(conn: AsyncConnection[Any], *, org_id: UUID, model_id: UUID) -> Model | None:
    """The model, locked until the caller's transaction ends."""
    return await queries.llms.get_model_for_update.one(conn, Model, org_id=org_id, model_id=model_id)


async def clear_default_model(conn: AsyncConnection[Any], *, org_id: UUID) -> bool:
    """Un-default the org's default model; call in the transaction that makes another one the default."""
    return await queries.llms.clear_default_model.execrows(conn, org_id=org_id) > 0


async def create_model(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    provider_id: UUID,
    name: str,
    display_name: str | None,
    base_model: str | None,
    temperature: float | None,
    max_tokens: int | None,
    is_enabled: bool,
    is_default: bool,
) -> Model:
    """Insert a model; a new default takes over from the org's previous one, both or neither."""
    # A composition of one unit, so its own transaction (a savepoint in the caller's): models_org_id_is_default_idx
    # allows one default per org, so the old default is cleared just before the write and never apart from it.
    async with conn.transaction():
        if is_default:
            await clear_default_model(conn, org_id=org_id)
        return await queries.llms.create_model.one_required(
            conn,
            Model,
            org_id=org_id,
            provider_id=provider_id,
            name=name,
            display_name=display_name,
            base_model=base_model,
            temperature=temperature,
            max_tokens=max_tokens,
            is_enabled=is_enabled,
            is_default=is_default,
        )


async def update_model(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    model_id: UUID,
    provider_id: UUID,
    name: str,
    display_name: str | None,
    base_model: str | None,
    temperature: float | None,
    max_tokens: int | None,
    is_enabled: bool,
    is_default: bool,
) -> Model | None:
    """Write every field of a model; made the default, it takes over from the org's previous one, both or neither.

    None when the org has no such model (and then nothing changed).
    """
    # One unit, as in create_model: the clearing and the write commit together or not at all.
    async with conn.transaction():
        if is_default:
            await clear_default_model(conn, org_id=org_id)
        model = await queries.llms.update_model.one(
            conn,
            Model,
            org_id=org_id,
            model_id=model_id,
            provider_id=provider_id,
            name=name,
            display_name=display_name,
            base_model=base_model,
            temperature=temperature,
            max_tokens=max_tokens,
            is_enabled=is_enabled,
            is_default=is_default,
        )
        if model is None:
            # Nothing was made the default: undo the clearing, so the previous default stays.
            raise Rollback
    return model


async def delete_model(conn: AsyncConnection[Any], *, org_id: UUID, model_id: UUID) -> bool:
    """False when the org has no such model."""
    return await queries.llms.delete_model.execrows(conn, org_id=org_id, model_id=model_id) > 0
