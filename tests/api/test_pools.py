"""The two pools: the main pool's configurable timeouts, and the analytics pool's own 30-second limit."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar
from litestar.testing import TestClient


def test_sessions_carry_their_pool_timeouts(widgets_client: Callable[..., TestClient[Litestar]]) -> None:
    with widgets_client(statement_timeout_ms=1234, idle_in_transaction_session_timeout_ms=4321) as api:
        assert api.get("/test/widgets/settings/statement_timeout").json() == {"main": "1234ms", "analytics": "30s"}
        idle = api.get("/test/widgets/settings/idle_in_transaction_session_timeout").json()
        assert idle["main"] == "4321ms"
        names = api.get("/test/widgets/settings/application_name").json()
        assert names == {"main": "agentpress-main", "analytics": "agentpress-analytics"}


def test_defaults_are_five_seconds_and_ten_seconds(widgets_client: Callable[..., TestClient[Litestar]]) -> None:
    with widgets_client() as api:
        assert api.get("/test/widgets/settings/statement_timeout").json()["main"] == "5s"
        assert api.get("/test/widgets/settings/idle_in_transaction_session_timeout").json()["main"] == "10s"


def test_the_analytics_pool_follows_analytics_database_url(
    widgets_client: Callable[..., TestClient[Litestar]], empty_database_url: str, database_url: str
) -> None:
    with widgets_client() as api:
        assert api.get("/test/widgets/databases").json() == {
            "main": dbname(database_url),
            "analytics": dbname(database_url),
        }
    with widgets_client(analytics_database_url=empty_database_url) as api:
        assert api.get("/test/widgets/databases").json() == {
            "main": dbname(database_url),
            "analytics": dbname(empty_database_url),
        }


def dbname(url: str) -> str:
    return url.split("@/")[1].split("?")[0]
