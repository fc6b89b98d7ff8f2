"""Fixtures for API tests."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import make_platform_admin, register
from litestar import Litestar
from litestar.testing import TestClient


@pytest.fixture
def admin(client: TestClient[Litestar], database_url: str) -> dict[str, Any]:
    """A platform admin who owns the default org, as `agentpress users create --admin` makes one with the test
    settings' SIGNUP_ORG=default: registered through the API, then promoted."""
    return make_platform_admin(database_url, register(client, "admin@example.com"))
