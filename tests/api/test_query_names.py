"""Each statement carries its name to the server, so a DBA can map pg_stat_activity back to the file."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar
from litestar.testing import TestClient


def test_pg_stat_activity_shows_the_query_name(widgets_client: Callable[..., TestClient[Litestar]]) -> None:
    with widgets_client() as api:
        response = api.get("/test/widgets/activity")
        assert response.status_code == 200
        assert response.text.startswith("/* widgets.get_own_activity */ SELECT query")
