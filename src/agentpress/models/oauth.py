"""OAuth sign-ins in flight and the provider accounts linked to users."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

OAuthProvider = Literal["github", "google"]


class OAuthState(BaseModel):
    """What a sign-in's state row holds once it is spent: the PKCE verifier (encrypted) and, when linking, the user."""

    provider: OAuthProvider
    code_verifier: bytes
    user_id: UUID | None


class OAuthConnection(BaseModel):
    """A provider account linked to a user. The provider's tokens stay in the table: no model carries them."""

    id: UUID
    user_id: UUID
    provider: OAuthProvider
    provider_id: str
    scopes: list[str]
    expires_at: datetime | None
    # Made while the user's email was unverified: a password reset removes it.
    is_linked_unverified: bool
    created_at: datetime
    updated_at: datetime
