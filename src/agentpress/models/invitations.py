"""Invitations to join an org."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from agentpress.models.orgs import OrgRole
from agentpress.models.users import EMAIL_PATTERN


class Invitation(BaseModel):
    """An invitation as the API shows it: never the token or its hash."""

    id: UUID
    org_id: UUID
    email: str
    role: OrgRole
    invited_by: UUID | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


class InvitationCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    role: OrgRole = "member"


class InvitationAccept(BaseModel):
    # new_token() makes 43 characters; anything much longer was never issued.
    token: str = Field(min_length=1, max_length=128)
