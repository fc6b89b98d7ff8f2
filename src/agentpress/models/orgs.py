"""Orgs, their members and invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

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
