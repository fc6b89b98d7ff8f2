"""Fixtures for API tests."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import register
from litestar import Litestar
from litestar.testing import TestClient


@pytest.fixture
def admin(client: TestClient[Litestar]) -> dict[str, Any]:
    """The installation's first user, who becomes platform admin and owner of the default org."""
    return register(client, "admin@example.com")
