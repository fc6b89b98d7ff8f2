"""Fixtures for API tests."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from helpers import register
from litestar import Litestar
from litestar.testing import TestClient


@pytest.fixture
def admin(client: TestClient[Litestar], database_url: str) -> dict[str, Any]:
    """A platform admin who owns the default org, as `agentpress users create --admin` makes one (with the
    test settings' SIGNUP_ORG=default); registered through the API, then promoted."""
    signed_in = register(client, "admin@example.com")
    user_id = signed_in["user"]["id"]
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET role = 'admin', is_email_verified = true WHERE id = %s", [user_id])
        conn.execute("UPDATE org_members SET role = 'owner' WHERE user_id = %s", [user_id])
    signed_in["user"] |= {"role": "admin", "is_email_verified": True}
    return signed_in
