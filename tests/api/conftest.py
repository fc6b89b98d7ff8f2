"""Fixtures for API tests."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import People, make_platform_admin, register
from litestar import Litestar
from litestar.testing import TestClient


@pytest.fixture
def admin(client: TestClient[Litestar], database_url: str) -> dict[str, Any]:
    """A platform admin who owns the default org, as `agentpress users create --admin` makes one with the test
    settings' SIGNUP_ORG=default: registered through the API, then promoted."""
    return make_platform_admin(database_url, register(client, "admin@example.com"))


@pytest.fixture
def people_factory(client: TestClient[Litestar], database_url: str) -> People:
    """The start of a module's `people`: the platform admin ("admin", owner of the default org, as the `admin`
    fixture makes them), to which the module adds its cast with People.add, .org, .agent and .api_key."""
    people = People(client, database_url)
    people.add("admin", platform_role="admin")
    return people
