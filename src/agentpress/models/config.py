"""Rows the configuration import and export read beyond the domains' own: agents' tree ids, providers' key sources."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel


class AgentConfigId(BaseModel):
    """The id an imported agent has in its configuration tree (agents/<config_id>/config.yaml)."""

    agent_id: UUID
    config_id: str


class ModelProviderApiKey(BaseModel):
    """A provider's API key, encrypted, and the environment variable an import read it from."""

    id: UUID
    name: str
    api_key_env: str | None
    api_key: bytes | None
