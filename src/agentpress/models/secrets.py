"""Stored ciphertexts with what they are bound to, as key rotation reads them."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel


class SealedOutboxBody(BaseModel):
    id: UUID
    body: bytes


class SealedProviderKey(BaseModel):
    id: UUID
    api_key: bytes | None  # the query reads only keys that are set; the column itself is nullable


class SealedOAuthTokens(BaseModel):
    """A connection's tokens, bound to the identity at the provider."""

    id: UUID
    provider: str
    provider_id: str
    access_token: bytes | None
    refresh_token: bytes | None


class SealedOAuthState(BaseModel):
    state_hash: bytes
    code_verifier: bytes
