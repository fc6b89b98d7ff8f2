"""Analytics reports on a small, hand-counted fixture: counted live, from the rollup, and from both at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
import psycopg
import pytest
from helpers import bearer, holding_lock, register
from litestar import Litestar
from litestar.testing import TestClient
from psycopg.types.json import Jsonb

from agentpress.services.reporting import refresh_org
from agentpress.settings import Settings
from agentpress.web.app import create_app

API = "/api/v1/analytics"
RANGE = {"from": "2026-03-01", "to": "2026-04-01"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def call(name: str) -> dict[str, Any]:
    return {"type": "tool_call", "tool_call_id": f"c-{name}", "tool_name": name, "arguments": {}}


def result(name: str, *, is_error: bool) -> dict[str, Any]:
    return {"type": "tool_result", "tool_call_id": f"c-{name}", "tool_name": name, "result": "r", "is_error": is_error}


@pytest.fixture
def fixture(client: TestClient[Litestar], admin: dict[str, Any], database_url: str) -> dict[str, Any]:
    """In the default org, two agents (support, sales), the admin and a member, four threads in March and April
    2026 with messages, feedback, tasks and tool calls. Another org has activity on the same days."""
    member = register(client, "member@example.com")
    admin_id, member_id = admin["user"]["id"], member["user"]["id"]
    with psycopg.connect(database_url) as conn:
        (org_id,) = conn.execute("SELECT id FROM orgs WHERE is_default").fetchone()  # type: ignore[misc]
        support, sales = (
            conn.execute("INSERT INTO agents (org_id, name) VALUES (%s, %s) RETURNING id", [org_id, name]).fetchone()[0]  # type: ignore[index]
            for name in ("support", "sales")
        )
        conn.execute("INSERT INTO tools (org_id, name, kind) VALUES (%s, 'search', 'function')", [org_id])

        def thread(user_id: str, agent_id: UUID | None, created: str) -> UUID:
            row = conn.execute(
                "INSERT INTO threads (org_id, user_id, agent_id, created_at) VALUES (%s, %s, %s, %s) RETURNING id",
                [org_id, user_id, agent_id, at(created)],
            ).fetchone()
            return row[0]  # type: ignore[index]

        def message(
            thread_id: UUID, written: str, role: str, *parts: dict[str, Any], tokens: tuple[int, int] | None = None
        ) -> UUID:
            row = conn.execute(
                "INSERT INTO messages (org_id, thread_id, role, parts, input_tokens, output_tokens, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                [org_id, thread_id, role, Jsonb(list(parts)), *(tokens or (None, None)), at(written)],
            ).fetchone()
            return row[0]  # type: ignore[index]

        def feedback(message_id: UUID, user_id: str, rating: int, given: str) -> None:
            conn.execute(
                "INSERT INTO feedback (org_id, message_id, user_id, rating, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [org_id, message_id, user_id, rating, at(given), at(given)],
            )

        def task(agent_id: UUID, status: str, finished: str | None) -> None:
            conn.execute(
                "INSERT INTO tasks (org_id, agent_id, status, finished_at) VALUES (%s, %s, %s, %s)",
                [org_id, agent_id, status, at(finished) if finished else None],
            )

        t1 = thread(admin_id, support, "2026-03-02 10:00")
        message(t1, "2026-03-02 10:01", "user", text("hi"))
        answer = message(t1, "2026-03-02 10:02", "assistant", text("let me look"), call("search"), tokens=(100, 20))
        message(t1, "2026-03-02 10:03", "tool", result("search", is_error=False))
        message(t1, "2026-03-03 08:00", "user", text("and?"))
        message(t1, "2026-03-03 08:01", "assistant", call("search"), call("lookup"), tokens=(50, 10))
        message(t1, "2026-03-03 08:02", "tool", result("lookup", is_error=True))
        feedback(answer, admin_id, 1, "2026-03-02 11:00")

        t2 = thread(member_id, support, "2026-03-03 09:00")
        message(t2, "2026-03-03 09:01", "user", text("hello"))
        reply = message(t2, "2026-03-03 09:02", "assistant", text("hi"), tokens=(30, 5))
        feedback(reply, member_id, -1, "2026-03-03 10:00")

        t3 = thread(member_id, sales, "2026-03-09 12:00")
        message(t3, "2026-03-09 12:01", "user", text("price?"))
        notice = message(t3, "2026-03-09 12:02", "system", text("escalated"))
        message(t3, "2026-03-10 00:30", "user", text("still there?"))
        feedback(notice, member_id, 1, "2026-03-09 13:00")

        t4 = thread(admin_id, None, "2026-04-01 08:00")
        message(t4, "2026-04-01 08:01", "user", text("note"))
        message(t4, "2026-04-01 08:02", "assistant", text("noted"), tokens=(10, 2))

        task(support, "succeeded", "2026-03-02 12:00")
        task(support, "failed", "2026-03-03 12:00")
        task(sales, "succeeded", "2026-03-09 15:00")
        task(sales, "queued", None)

        # Another org, busy on the same days: none of it may show.
        (other,) = conn.execute("INSERT INTO orgs (name, slug) VALUES ('Other', 'other') RETURNING id").fetchone()  # type: ignore[misc]
        (other_agent,) = conn.execute(
            "INSERT INTO agents (org_id, name) VALUES (%s, 'x') RETURNING id", [other]
        ).fetchone()  # type: ignore[misc]
        (other_thread,) = conn.execute(
            "INSERT INTO threads (org_id, user_id, agent_id, created_at) VALUES (%s, %s, %s, %s) RETURNING id",
            [other, admin_id, other_agent, at("2026-03-02 10:00")],
        ).fetchone()  # type: ignore[misc]
        conn.execute(
            "INSERT INTO messages (org_id, thread_id, role, parts, input_tokens, created_at) "
            "VALUES (%s, %s, 'user', %s, 7, %s)",
            [other, other_thread, Jsonb([call("search")]), at("2026-03-02 10:01")],
        )
        conn.execute(
            "INSERT INTO tasks (org_id, agent_id, status, finished_at) VALUES (%s, %s, 'failed', %s)",
            [other, other_agent, at("2026-03-02 10:00")],
        )
    return {
        "client": client,
        "admin": bearer(admin["token"]),
        "member": bearer(member["token"]),
        "org_id": org_id,
        "other_org": other,
        "support": str(support),
        "sales": str(sales),
        "database_url": database_url,
    }


def refresh(database_url: str, org_id: UUID, now: str) -> None:
    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await refresh_org(conn, org_id=org_id, now=at(now))

    anyio.run(run)


def get(fixture: dict[str, Any], report: str, **params: str) -> dict[str, Any]:
    response = fixture["client"].get(f"{API}/{report}", params={**RANGE, **params}, headers=fixture["admin"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def zero(bucket: str) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "threads_created": 0,
        "user_messages": 0,
        "assistant_messages": 0,
        "system_messages": 0,
        "tool_messages": 0,
        "messages": 0,
        "active_users": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }


def usage(bucket: str, **counts: int) -> dict[str, Any]:
    row = zero(bucket) | counts
    row["messages"] = sum(row[f"{role}_messages"] for role in ("user", "assistant", "system", "tool"))
    return row


WEEKS = [
    zero("2026-02-23"),  # Sunday 1 March is in the week of Monday 23 February
    usage(
        "2026-03-02",
        threads_created=2,
        user_messages=3,
        assistant_messages=3,
        tool_messages=2,
        active_users=2,
        input_tokens=180,
        output_tokens=35,
    ),
    # One user on the 9th and again on the 10th: one active user that week.
    usage("2026-03-09", threads_created=1, user_messages=2, system_messages=1, active_users=1),
    zero("2026-03-16"),
    zero("2026-03-23"),
    usage(
        "2026-03-30",
        threads_created=1,
        user_messages=1,
        assistant_messages=1,
        active_users=1,
        input_tokens=10,
        output_tokens=2,
    ),
]
MONTHS = [
    usage(
        "2026-03-01",
        threads_created=3,
        user_messages=5,
        assistant_messages=3,
        system_messages=1,
        tool_messages=2,
        active_users=2,
        input_tokens=180,
        output_tokens=35,
    ),
    usage(
        "2026-04-01",
        threads_created=1,
        user_messages=1,
        assistant_messages=1,
        active_users=1,
        input_tokens=10,
        output_tokens=2,
    ),
]


def agents_expected(fixture: dict[str, Any]) -> list[dict[str, Any]]:
    def agent(agent_id: str | None, name: str | None, **counts: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "agent_id": agent_id,
            "agent_name": name,
            "threads_created": 0,
            "user_messages": 0,
            "assistant_messages": 0,
            "system_messages": 0,
            "tool_messages": 0,
            "messages": 0,
            "avg_messages_per_thread": None,
            "feedback_up": 0,
            "feedback_down": 0,
            "feedback_ratio": None,
            "tasks_succeeded": 0,
            "tasks_failed": 0,
            "input_tokens": 0,
            "output_tokens": 0,
        }
        return row | counts

    return [
        agent(
            fixture["support"],
            "support",
            threads_created=2,
            user_messages=3,
            assistant_messages=3,
            tool_messages=2,
            messages=8,
            avg_messages_per_thread=4.0,
            feedback_up=1,
            feedback_down=1,
            feedback_ratio=0.5,
            tasks_succeeded=1,
            tasks_failed=1,
            input_tokens=180,
            output_tokens=35,
        ),
        agent(
            fixture["sales"],
            "sales",
            threads_created=1,
            user_messages=2,
            system_messages=1,
            messages=3,
            avg_messages_per_thread=3.0,
            feedback_up=1,
            feedback_ratio=1.0,
            tasks_succeeded=1,
        ),
        agent(
            None,
            None,
            threads_created=1,
            user_messages=1,
            assistant_messages=1,
            messages=2,
            avg_messages_per_thread=2.0,
            input_tokens=10,
            output_tokens=2,
        ),
    ]


def tools_expected(fixture: dict[str, Any]) -> list[dict[str, Any]]:
    with psycopg.connect(fixture["database_url"]) as conn:
        (search_id,) = conn.execute(
            "SELECT id::text FROM tools WHERE name = 'search' AND org_id = %s", [fixture["org_id"]]
        ).fetchone()  # type: ignore[misc]
    return [
        {"tool_name": "search", "tool_id": search_id, "calls": 2, "failures": 0},
        {"tool_name": "lookup", "tool_id": None, "calls": 1, "failures": 1},
    ]


# Never refreshed: counted live. Refreshed on the 10th: the rollup to the 9th and a live count after,
# which share the week of the 9th. Refreshed in May: all from the rollup.
REFRESHES = [None, "2026-03-10 06:00", "2026-05-01 00:00"]


@pytest.mark.parametrize("refreshed", REFRESHES, ids=["live", "rollup and live", "rollup"])
def test_the_reports_count_what_the_fixture_holds(fixture: dict[str, Any], refreshed: str | None) -> None:
    if refreshed:
        refresh(fixture["database_url"], fixture["org_id"], refreshed)
    week = get(fixture, "usage", granularity="week")
    assert week == {**RANGE, "granularity": "week", "agent_id": None, "buckets": WEEKS}
    assert get(fixture, "usage", granularity="month")["buckets"] == MONTHS
    days = get(fixture, "usage", **{"from": "2026-03-09", "to": "2026-03-10"})["buckets"]
    assert days == [
        usage("2026-03-09", threads_created=1, user_messages=1, system_messages=1, active_users=1),
        usage("2026-03-10", user_messages=1, active_users=1),
    ]
    assert get(fixture, "agents") == {**RANGE, "agents": agents_expected(fixture)}
    assert get(fixture, "tools") == {**RANGE, "tools": tools_expected(fixture)}


@pytest.mark.parametrize("refreshed", REFRESHES, ids=["live", "rollup and live", "rollup"])
def test_the_usage_of_one_agent(fixture: dict[str, Any], refreshed: str | None) -> None:
    if refreshed:
        refresh(fixture["database_url"], fixture["org_id"], refreshed)
    buckets = get(fixture, "usage", granularity="month", agent_id=fixture["sales"])["buckets"]
    assert buckets == [
        usage("2026-03-01", threads_created=1, user_messages=2, system_messages=1, active_users=1),
        zero("2026-04-01"),
    ]


def test_a_range_inside_the_data_counts_only_its_days(fixture: dict[str, Any]) -> None:
    refresh(fixture["database_url"], fixture["org_id"], "2026-03-10 06:00")
    agents = get(fixture, "agents", **{"from": "2026-03-03", "to": "2026-03-03"})["agents"]
    assert [(a["agent_name"], a["messages"], a["threads_created"], a["tasks_failed"]) for a in agents] == [
        ("support", 5, 1, 1)
    ]
    tools = get(fixture, "tools", **{"from": "2026-03-03", "to": "2026-03-03"})["tools"]
    assert [(t["tool_name"], t["calls"], t["failures"]) for t in tools] == [("lookup", 1, 1), ("search", 1, 0)]


def test_a_refresh_rolls_up_closed_days_only_and_a_second_one_moves_on(fixture: dict[str, Any]) -> None:
    url, org_id = fixture["database_url"], fixture["org_id"]
    # Three minutes after midnight the 9th is not closed yet: a late commit may still write to it.
    refresh(url, org_id, "2026-03-10 00:03")
    with psycopg.connect(url) as conn:
        (complete_before,) = conn.execute(
            "SELECT complete_before FROM analytics_refreshes WHERE org_id = %s", [org_id]
        ).fetchone()  # type: ignore[misc]
        assert str(complete_before) == "2026-03-09"
        refresh(url, org_id, "2026-03-10 06:00")
        days = conn.execute(
            "SELECT DISTINCT day::text FROM analytics_daily WHERE org_id = %s ORDER BY 1", [org_id]
        ).fetchall()
        assert [day for (day,) in days] == ["2026-03-02", "2026-03-03", "2026-03-09"]
        other = conn.execute(
            "SELECT count(*) FROM analytics_daily WHERE org_id = %s", [fixture["other_org"]]
        ).fetchone()
        assert other == (0,)


def test_reports_are_for_owners_and_admins_of_the_org(fixture: dict[str, Any]) -> None:
    client: TestClient[Litestar] = fixture["client"]
    for report in ("usage", "agents", "tools"):
        assert client.get(f"{API}/{report}", headers=fixture["member"]).status_code == 403
        assert client.get(f"{API}/{report}").status_code == 401
        # Another org's reports: that org does not exist for the caller.
        elsewhere = fixture["member"] | {"X-Org-Id": str(fixture["other_org"])}
        assert client.get(f"{API}/{report}", headers=elsewhere).status_code == 404


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from", "must be on or before to (2026-03-01)"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "to", "makes a range of 2252 days; the most is 731"),
        ({"granularity": "hour"}, "granularity", "must be one of day, week, month"),
    ],
)
def test_a_bad_range_or_granularity_is_422_naming_it(
    fixture: dict[str, Any], params: dict[str, str], field: str, message: str
) -> None:
    response = fixture["client"].get(f"{API}/usage", params=params, headers=fixture["admin"])
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": field, "message": message}]


def test_a_date_that_is_not_one_is_400_naming_it(fixture: dict[str, Any]) -> None:
    response = fixture["client"].get(f"{API}/agents", params={"from": "2026-02-30"}, headers=fixture["admin"])
    assert response.status_code == 400, response.text
    assert "from" in response.text


def test_the_default_range_is_the_last_30_days(fixture: dict[str, Any]) -> None:
    response = fixture["client"].get(f"{API}/usage", headers=fixture["admin"])
    assert response.status_code == 200, response.text
    body = response.json()
    today = datetime.now(UTC).date()
    assert body["to"] == str(today)
    assert len(body["buckets"]) == 30


def test_a_report_past_the_statement_timeout_is_503_and_the_pool_recovers(
    make_settings: Any, admin: dict[str, Any], client: TestClient[Litestar], database_url: str
) -> None:
    settings: Settings = make_settings(analytics_statement_timeout_ms=300, analytics_pool_max_size=1)
    # A report waiting on a lock is a slow report: it must be cancelled at the timeout like any other.
    with (
        holding_lock(database_url, "LOCK TABLE analytics_refreshes IN ACCESS EXCLUSIVE MODE") as holder,
        TestClient(create_app(settings)) as slow,
    ):
        response = slow.get(f"{API}/usage", headers=bearer(admin["token"]))
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["code"] == "report_timeout"
        assert body["detail"] == "the report took longer than 0.3 s and was cancelled; try a shorter range"
        holder.rollback()
        # The same (only) analytics connection answers the next report.
        assert slow.get(f"{API}/usage", headers=bearer(admin["token"])).status_code == 200


@pytest.mark.parametrize("report", ["usage", "agents", "tools"])
@pytest.mark.parametrize("params", [{"from": "9999-12-31", "to": "9999-12-31"}, {"to": "9999-12-31"}])
def test_a_day_past_the_last_reportable_one_is_422_naming_it(
    client: TestClient[Litestar], admin: dict[str, Any], report: str, params: dict[str, str]
) -> None:
    # A day past 9998-12-31 was a 500: stepping past `to` overflows Python's dates.
    response = client.get(f"{API}/{report}", params=params, headers=bearer(admin["token"]))
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "to", "message": "must be on or before 9998-12-31"}]


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_the_first_and_last_reportable_days_make_reports(
    client: TestClient[Litestar], admin: dict[str, Any], granularity: str
) -> None:
    headers = bearer(admin["token"])
    last = client.get(
        f"{API}/usage", params={"from": "9998-12-01", "to": "9998-12-31", "granularity": granularity}, headers=headers
    )
    assert last.status_code == 200, last.text
    # Without `from`, a `to` in the first days of the calendar starts the report at 0001-01-01, not before it.
    first = client.get(f"{API}/usage", params={"to": "0001-01-05", "granularity": granularity}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["from"] == "0001-01-01"
