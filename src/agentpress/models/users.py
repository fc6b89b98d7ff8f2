"""Users, their sessions, and what sign-in returns."""

from __future__ import annotations

from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from agentpress.models.orgs import OrgRole

# An address with one @ and no whitespace. Whitespace is spelled out, not \s: the document's regex (ECMA-262) and
# pydantic's (Rust) differ on U+0085 and U+FEFF, and a schema-valid address was refused.
EMAIL_PATTERN = r"^[^@\s\x85\uFEFF]+@[^@\s\x85\uFEFF]+$"

PlatformRole = Literal["admin", "user", "guest"]
Provider = Literal["email", "github", "google"]


class User(BaseModel):
    """A user as the API shows them: never the password hash."""

    id: UUID
    email: str
    username: str | None
    first_name: str | None
    last_name: str | None
    display_name: str | None
    avatar_url: str | None
    github_id: str | None
    github_username: str | None
    google_id: str | None
    role: PlatformRole
    provider: Provider
    is_email_verified: bool
    is_disabled: bool
    created_at: datetime
    updated_at: datetime


class UserCredentials(BaseModel):
    """What sign-in needs to check a password."""

    id: UUID
    password_hash: str | None
    is_disabled: bool


class SessionUser(User):
    """The signed-in user, found by their session's token hash, with their home org (None: in no org)."""

    session_id: UUID
    session_last_seen_at: datetime
    session_expires_at: datetime
    home_org_id: UUID | None
    home_org_role: OrgRole | None


class Session(BaseModel):
    id: UUID
    user_id: UUID
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None
    user_agent: str | None
    ip: IPv4Address | IPv6Address | None


class SignedIn(BaseModel):
    """The answer to register, login and OAuth sign-in: a bearer token and who it is for."""

    token: str
    expires_at: datetime
    user: User


class Register(BaseModel):
    # The password's least length is a setting (services/accounts.check_password_rules checks it); the
    # document shows the configured one (web/bodies.ContractSchemaPlugin).
    MIN_LENGTH_SETTINGS: ClassVar[dict[str, str]] = {"password": "password_min_length"}

    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    password: str = Field(max_length=1024)
    username: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)


class Login(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class UserAdminUpdate(BaseModel):
    """What a platform admin may change on a user; omitted fields stay as they are."""

    role: PlatformRole | None = None
    is_disabled: bool | None = None
