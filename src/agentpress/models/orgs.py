"""Orgs, their members and invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

OrgRole = Literal["owner", "admin", "member"]


class Org(BaseModel):
    id: UUID
    name: str
    slug: str
    is_default: bool
    created_at: datetime
    updated_at: datetime


class OrgMember(BaseModel):
    org_id: UUID
    user_id: UUID
    role: OrgRole
    created_at: datetime


class OrgAccess(BaseModel):
    """An org as a given user reaches it: their role there, or none."""

    org_id: UUID
    role: OrgRole | None


SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class OrgWithRole(Org):
    """An org as the signed-in user sees it: with their role there (null for a platform admin who is not a member)."""

    role: OrgRole | None


class OrgCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    slug: str = Field(min_length=1, max_length=64, pattern=SLUG_PATTERN)


class OrgUpdate(BaseModel):
    """What an org's owners and admins may change; omitted fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    slug: str | None = Field(default=None, min_length=1, max_length=64, pattern=SLUG_PATTERN)


class OrgMemberDetail(BaseModel):
    """A member as the API lists them: the membership and who the user is (email: null unless the caller is an
    owner or admin of the org, or a platform admin)."""

    org_id: UUID
    user_id: UUID
    email: str | None
    username: str | None
    first_name: str | None
    last_name: str | None
    display_name: str | None
    avatar_url: str | None
    role: OrgRole
    created_at: datetime


class OrgMemberUpdate(BaseModel):
    role: OrgRole
