"""`agentpress analytics refresh` and the service's refresh loop: each org's closed days rolled up, once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import SECRET_KEY

from agentpress import cli
from agentpress.services.reporting import closed_before, refresh_due

pytestmark = pytest.mark.anyio


@pytest.fixture
def busy_org(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An org "busy" whose user wrote a message three days ago and another today, at noon UTC."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", "off")
    monkeypatch.setenv("APP_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    # Noon, not the clock: a test run just after midnight must not see "today" as closed.
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with psycopg.connect(database_url) as conn:
        (org_id,) = conn.execute("INSERT INTO orgs (name, slug) VALUES ('Busy', 'busy') RETURNING id").fetchone()  # type: ignore[misc]
        (user_id,) = conn.execute(
            "INSERT INTO users (email, username) VALUES ('busy@example.com', 'busy') RETURNING id"
        ).fetchone()  # type: ignore[misc]
        (thread_id,) = conn.execute(
            "INSERT INTO threads (org_id, user_id, created_at) VALUES (%s, %s, %s) RETURNING id",
            [org_id, user_id, now - timedelta(days=3)],
        ).fetchone()  # type: ignore[misc]
        for written in (now - timedelta(days=3), now):
            conn.execute(
                "INSERT INTO messages (org_id, thread_id, role, parts, created_at) VALUES (%s, %s, 'user', '[]', %s)",
                [org_id, thread_id, written],
            )
    return {"org_id": org_id, "url": database_url, "now": now}


def rollup(url: str, org_id: Any) -> tuple[date | None, list[tuple[date, int]]]:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT complete_before FROM analytics_refreshes WHERE org_id = %s", [org_id]).fetchone()
        days = conn.execute(
            "SELECT day, user_messages FROM analytics_daily WHERE org_id = %s ORDER BY day", [org_id]
        ).fetchall()
    return (found[0] if found else None), [(day, count) for day, count in days]


def test_the_command_rolls_up_an_org_from_its_first_thread_to_yesterday(
    busy_org: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["analytics", "refresh", "--org", "busy"]) == 0
    out = capsys.readouterr().out
    assert "refreshed 1 org(s)" in out
    complete_before, days = rollup(busy_org["url"], busy_org["org_id"])
    now: datetime = busy_org["now"]
    assert complete_before == closed_before(datetime.now(UTC))
    # Today's message is not rolled up: today is not closed, reports count it live.
    assert days == [((now - timedelta(days=3)).date(), 1)]


def test_the_command_goes_over_every_org_and_refuses_an_unknown_slug(
    busy_org: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["analytics", "refresh"]) == 0
    with psycopg.connect(busy_org["url"]) as conn:
        (orgs,) = conn.execute("SELECT count(*) FROM orgs").fetchone()  # type: ignore[misc]
    assert f"refreshed {orgs} org(s)" in capsys.readouterr().out
    assert cli.main(["analytics", "refresh", "--org", "nope"]) == 2
    assert "no org has the slug 'nope'" in capsys.readouterr().err


async def test_the_loop_refreshes_only_orgs_with_a_newly_closed_day(busy_org: dict[str, Any]) -> None:
    now: datetime = busy_org["now"]
    async with await psycopg.AsyncConnection.connect(busy_org["url"], autocommit=True) as conn:
        first = await refresh_due(conn, now=now)
        assert busy_org["org_id"] in {refreshed.org_id for refreshed in first}
        assert await refresh_due(conn, now=now) == []
        # A day later, the day of today's message has closed: it is rolled up, and only the new day is read.
        (later,) = [r for r in await refresh_due(conn, now=now + timedelta(days=1)) if r.org_id == busy_org["org_id"]]
    assert (later.from_day, later.to_day) == (now.date() - timedelta(days=1), now.date() + timedelta(days=1))
    _, days = rollup(busy_org["url"], busy_org["org_id"])
    assert days == [((now - timedelta(days=3)).date(), 1), (now.date(), 1)]
