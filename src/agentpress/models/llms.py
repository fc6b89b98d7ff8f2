"""Model providers and models: rows as the API shows them, and what a client sends to create or change them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

ProviderKind = Literal["anthropic", "openai", "openai_compatible", "google", "azure_openai", "bedrock", "ollama"]

# The same rules as the table's checks (model_providers_name_check, model_providers_base_url_check),
# so that bad input is a 400 naming the field before it reaches the database.
PROVIDER_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
BASE_URL_PATTERN = r"^https?://"
MAX_BASE_URL_LENGTH = 2_000
MAX_API_KEY_LENGTH = 10_000
# max_tokens is an integer column: a larger number is bad input, not a database error.
MAX_INT = 2_147_483_647


def _not_null(value: object) -> object:
    # In a partial change a required field may be left out, but null cannot clear it: say so, with a 400.
    if value is None:
        raise ValueError("may be left out but not null")
    return value


class ModelProvider(BaseModel):
    """A model provider as the API shows it: the API key never leaves the service, only whether one is set."""

    id: UUID
    org_id: UUID
    name: str
    kind: ProviderKind
    base_url: str | None
    has_api_key: bool
    is_enabled: bool
    created_at: datetime
    updated_at: datetime


class ModelProviderCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=PROVIDER_NAME_PATTERN)
    kind: ProviderKind
    base_url: str | None = Field(default=None, max_length=MAX_BASE_URL_LENGTH, pattern=BASE_URL_PATTERN)
    api_key: str | None = Field(default=None, min_length=1, max_length=MAX_API_KEY_LENGTH)
    is_enabled: bool = True


class ModelProviderUpdate(BaseModel):
    """A partial change: fields left out keep their value; base_url or api_key sent as null is removed."""

    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=PROVIDER_NAME_PATTERN)
    kind: ProviderKind | None = None
    base_url: str | None = Field(default=None, max_length=MAX_BASE_URL_LENGTH, pattern=BASE_URL_PATTERN)
    api_key: str | None = Field(default=None, min_length=1, max_length=MAX_API_KEY_LENGTH)
    is_enabled: bool | None = None

    @field_validator("name", "kind", "is_enabled")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _not_null(value)


class Model(BaseModel):
    """A model of a provider; at most one model of an org is its default."""

    id: UUID
    org_id: UUID
    provider_id: UUID
    name: str
    display_name: str | None
    base_model: str | None
    temperature: float | None
    max_tokens: int | None
    is_enabled: bool
    is_default: bool
    created_at: datetime
    updated_at: datetime


class ModelCreate(BaseModel):
    # Ranges (temperature 0..2, max_tokens > 0) are the database's checks, answered with 422.
    provider_id: UUID
    name: str = Field(min_length=1, max_length=200, description="The provider's model id, e.g. claude-3-sonnet")
    display_name: str | None = Field(default=None, max_length=200)
    base_model: str | None = Field(default=None, max_length=200)
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, le=MAX_INT)
    is_enabled: bool = True
    is_default: bool = False


class ModelUpdate(BaseModel):
    """A partial change: fields left out keep their value; a nullable field sent as null is cleared."""

    provider_id: UUID | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    base_model: str | None = Field(default=None, max_length=200)
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, le=MAX_INT)
    is_enabled: bool | None = None
    is_default: bool | None = None

    @field_validator("provider_id", "name", "is_enabled", "is_default")
    @classmethod
    def _not_null(cls, value: object) -> object:
        return _not_null(value)
