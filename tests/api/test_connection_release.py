"""A request that fails in its dependencies gives back every connection it took: bad tokens cannot drain the pools."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from helpers import bearer, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app
from agentpress.web.lifespan import resources

API = "/api/v1"


def connections_out(client: TestClient[Litestar]) -> tuple[int, int]:
    """Connections checked out of the main and analytics pools now."""
    found = resources(client.app.state)
    counts = []
    for pool in (found.pool, found.analytics_pool):
        stats = pool.get_stats()
        counts.append(stats.get("pool_size", 0) - stats.get("pool_available", 0))
    return counts[0], counts[1]


def test_failed_auth_and_another_orgs_id_leave_no_connection_behind(make_settings: Callable[..., Settings]) -> None:
    # Small pools and a short wait: one leaked connection per request would exhaust them within a few requests.
    settings = make_settings(pool_max_size=2, pool_timeout=1, analytics_pool_max_size=1, signup_org=None)
    with TestClient(app=create_app(settings)) as client:
        ada: dict[str, Any] = register(client, "ada@example.com")
        revoked = register(client, "bob@example.com")["token"]
        assert client.post(f"{API}/auth/logout", headers=bearer(revoked)).status_code == 204
        someone_elses_org = {**bearer(ada["token"]), "X-Org-Id": str(uuid.uuid4())}
        # Routes whose `conn` or `analytics_conn` resolves beside the auth dependency that fails.
        for _ in range(10):
            assert client.patch(f"{API}/models/{uuid.uuid4()}", json={}, headers=bearer(revoked)).status_code == 401
            assert client.patch(f"{API}/models/{uuid.uuid4()}", json={}, headers=someone_elses_org).status_code == 404
            assert client.get(f"{API}/analytics/usage", headers=bearer(revoked)).status_code == 401
            assert client.get(f"{API}/analytics/usage", headers=someone_elses_org).status_code == 404
        assert connections_out(client) == (0, 0)
        assert client.get(f"{API}/agents", headers=bearer(ada["token"])).status_code == 200
        assert client.get(f"{API}/analytics/usage", headers=bearer(ada["token"])).status_code == 200
