"""Database faults under a running service: a restart is survived, an outage is a clear 503."""

from __future__ import annotations

import time
from collections.abc import Callable

from helpers import EmbeddedServer
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.db import embedded

OUTAGE_SECONDS = 10


def test_the_next_request_after_a_database_restart_succeeds(
    widgets_client: Callable[..., TestClient[Litestar]], embedded_server: EmbeddedServer
) -> None:
    with widgets_client(pool_min_size=2, pool_max_size=2) as api:
        assert api.get("/test/widgets").status_code == 200
        embedded.restart(embedded_server.pgdata)
        # Every pooled connection died with the old server; the pool's check replaces them.
        for _ in range(3):
            response = api.get("/test/widgets")
            assert response.status_code == 200, response.text


def test_an_outage_is_503_database_unavailable_and_service_resumes(
    widgets_client: Callable[..., TestClient[Litestar]], embedded_server: EmbeddedServer
) -> None:
    with widgets_client(pool_timeout=1) as api:
        assert api.get("/test/widgets").status_code == 200
        embedded.stop(embedded_server.pgdata)
        try:
            response = api.get("/test/widgets")
            assert response.status_code == 503, response.text
            assert response.json()["detail"] == "database unavailable"
            ready = api.get("/ready")
            assert (ready.status_code, ready.json()["database"]) == (503, "unavailable")
            assert api.get("/health").status_code == 200
            # Long enough for the pool's reconnection delay, which doubles after each failed attempt,
            # to have grown past 8 s (1, 2, 4, 8): the database must not come back to a pool that
            # waits that long before it tries again.
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < outage_ends:
                assert api.get("/test/widgets").status_code == 503
        finally:
            embedded.start(embedded_server.pgdata, database="postgres")
        # The first request after the database is back gets a connection within its one second.
        assert api.get("/test/widgets").status_code == 200
        assert api.get("/ready").status_code == 200
