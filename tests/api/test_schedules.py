"""Schedules: create, read, change and delete in the org; kinds and their fields; cron and time zone checks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from helpers import People, bearer, headers, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

API = "/api/v1"
SCHEDULES = f"{API}/schedules"


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: the platform admin (its owner), an org admin and a member, and an agent. An outsider
    owns an org of their own ("other") with an agent of its own."""
    people = people_factory
    people.add("manager", org_role="admin")
    people.add("member")
    people.add("outsider")
    people["other_org"] = people.org("Other", owner="outsider")["id"]
    people["agent"] = people.agent("manager", name="Reporter")
    people["other_agent"] = people.agent("outsider", people["other_org"], name="Reporter")
    return people


def cron_payload(people: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "agent_id": people["agent"],
        "name": "Morning report",
        "kind": "cron",
        "cron": "30 7 * * 1-5",
        "timezone": "Europe/Berlin",
        **fields,
    }


def once_payload(people: dict[str, Any], **fields: Any) -> dict[str, Any]:
    run_at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    return {"agent_id": people["agent"], "name": "Tomorrow", "kind": "once", "run_at": run_at, **fields}


def create_schedule(people: dict[str, Any], payload: dict[str, Any], who: str = "manager") -> dict[str, Any]:
    client: TestClient[Litestar] = people["client"]
    response = client.post(SCHEDULES, json=payload, headers=headers(people, who))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def assert_field_error(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field], response.text


def test_a_cron_schedule_is_created_read_and_listed(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    before = datetime.now(UTC)
    created = create_schedule(people, cron_payload(people, input={"topic": "sales"}))
    assert set(created) == {
        "id",
        "org_id",
        "agent_id",
        "name",
        "kind",
        "run_at",
        "cron",
        "timezone",
        "input",
        "is_enabled",
        "next_run_at",
        "last_run_at",
        "created_by",
        "created_at",
        "updated_at",
    }
    assert (created["org_id"], created["agent_id"], created["kind"], created["cron"], created["timezone"]) == (
        people["default_org"],
        people["agent"],
        "cron",
        "30 7 * * 1-5",
        "Europe/Berlin",
    )
    assert (created["input"], created["is_enabled"], created["run_at"], created["last_run_at"]) == (
        {"topic": "sales"},
        True,
        None,
        None,
    )
    assert created["created_by"] == people["manager"]["user"]["id"]
    # The next weekday 07:30 in Berlin, within a few days.
    next_run_at = instant(created["next_run_at"])
    assert next_run_at is not None and before < next_run_at < before + timedelta(days=4)
    local = next_run_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute, local.isoweekday() <= 5) == (7, 30, True)
    got = client.get(f"{SCHEDULES}/{created['id']}", headers=headers(people, "member"))
    assert (got.status_code, got.json()) == (200, created)
    listed = client.get(SCHEDULES, headers=headers(people, "member")).json()
    assert listed == {"items": [created], "total": 1, "page": 1, "page_size": 20}


def test_a_once_schedule_runs_at_its_time_and_a_disabled_one_not_at_all(people: dict[str, Any]) -> None:
    payload = once_payload(people)
    created = create_schedule(people, payload)
    assert instant(created["run_at"]) == instant(payload["run_at"])
    assert instant(created["next_run_at"]) == instant(payload["run_at"])
    assert (created["cron"], created["timezone"], created["input"]) == (None, None, {})
    disabled = create_schedule(people, cron_payload(people, is_enabled=False))
    assert (disabled["is_enabled"], disabled["next_run_at"]) == (False, None)


def test_schedules_are_listed_newest_first_in_pages(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    names = [f"schedule {n}" for n in range(3)]
    for name in names:
        create_schedule(people, cron_payload(people, name=name))
    first = client.get(SCHEDULES, params={"page_size": 2}, headers=headers(people, "member")).json()
    second = client.get(SCHEDULES, params={"page_size": 2, "page": 2}, headers=headers(people, "member")).json()
    assert [item["name"] for item in first["items"] + second["items"]] == names[::-1]
    assert (first["total"], second["total"]) == (3, 3)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "every morning"}, "cron"),
        ({"cron": "* * * * * *"}, "cron"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"cron": None}, "cron"),
        ({"timezone": None}, "timezone"),
        ({"run_at": "2030-01-01T00:00:00Z"}, "run_at"),
        # Valid syntax for dates that never come: croniter finds no next one (this was a 500).
        ({"cron": "0 0 31 2 *"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),
        ({"cron": "0 0 31 4,6,9,11 *"}, "cron"),
        ({"cron": "0 0 31 2 *", "is_enabled": False}, "cron"),
        ({"cron": "0 0 1 1 7#5"}, "cron"),  # a fifth Sunday in the first week of January
    ],
)
def test_a_cron_schedule_needs_a_valid_expression_and_time_zone(
    people: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    client: TestClient[Litestar] = people["client"]
    response = client.post(SCHEDULES, json=cron_payload(people, **fields), headers=headers(people, "manager"))
    assert_field_error(response, 422, field)
    assert client.get(SCHEDULES, headers=headers(people, "manager")).json()["total"] == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"run_at": None}, "run_at"), ({"cron": "0 * * * *"}, "cron"), ({"timezone": "UTC"}, "timezone")],
)
def test_a_once_schedule_needs_run_at_and_nothing_of_cron(
    people: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    client: TestClient[Litestar] = people["client"]
    response = client.post(SCHEDULES, json=once_payload(people, **fields), headers=headers(people, "manager"))
    assert_field_error(response, 422, field)


def test_run_at_needs_an_offset(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    response = client.post(
        SCHEDULES, json=once_payload(people, run_at="2030-01-01T09:00:00"), headers=headers(people, "manager")
    )
    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["run_at"]


def test_the_agent_must_be_one_of_the_org(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    for agent_id in (people["other_agent"], str(uuid.uuid4())):
        response = client.post(
            SCHEDULES, json=cron_payload(people, agent_id=agent_id), headers=headers(people, "manager")
        )
        assert_field_error(response, 422, "agent_id")
    created = create_schedule(people, cron_payload(people))
    response = client.patch(
        f"{SCHEDULES}/{created['id']}", json={"agent_id": people["other_agent"]}, headers=headers(people, "manager")
    )
    assert_field_error(response, 422, "agent_id")


def test_members_read_but_only_owners_and_admins_write(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    member = headers(people, "member")
    assert client.post(SCHEDULES, json=cron_payload(people), headers=member).status_code == 403
    created = create_schedule(people, cron_payload(people), who="admin")
    path = f"{SCHEDULES}/{created['id']}"
    assert client.patch(path, json={"name": "Mine"}, headers=member).status_code == 403
    assert client.delete(path, headers=member).status_code == 403
    assert client.get(path, headers=member).json() == created
    assert client.get(SCHEDULES).status_code == 401


def test_another_orgs_schedule_is_not_found(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_schedule(people, cron_payload(people))
    path = f"{SCHEDULES}/{created['id']}"
    outsider = headers(people, "outsider", people["other_org"])
    assert client.get(path, headers=outsider).status_code == 404
    assert client.patch(path, json={"name": "Taken"}, headers=outsider).status_code == 404
    assert client.delete(path, headers=outsider).status_code == 404
    assert client.get(SCHEDULES, headers=outsider).json()["total"] == 0
    assert client.get(path, headers=headers(people, "member")).json() == created
    missing = f"{SCHEDULES}/{uuid.uuid4()}"
    assert client.get(missing, headers=headers(people, "manager")).json()["code"] == "not_found"


def test_a_partial_change_keeps_the_rest_and_moves_next_run_at_only_when_the_timing_changes(
    people: dict[str, Any],
) -> None:
    client: TestClient[Litestar] = people["client"]
    manager = headers(people, "manager")
    created = create_schedule(people, cron_payload(people, input={"a": 1}))
    path = f"{SCHEDULES}/{created['id']}"
    # Make the schedule due: a change of name or input must not move it.
    with psycopg.connect(people["database_url"]) as conn:
        conn.execute("UPDATE schedules SET next_run_at = now() - interval '1 minute' WHERE id = %s", [created["id"]])
    due = client.get(path, headers=manager).json()["next_run_at"]
    renamed = client.patch(path, json={"name": "Evening report", "input": {"b": 2}}, headers=manager)
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert (body["name"], body["input"], body["cron"], body["next_run_at"]) == (
        "Evening report",
        {"b": 2},
        "30 7 * * 1-5",
        due,
    )
    assert instant(body["updated_at"]) > instant(created["updated_at"])  # type: ignore[operator]
    # A new expression: the next occurrence of it after now, in the schedule's zone.
    now = datetime.now(UTC)
    hourly = client.patch(path, json={"cron": "0 * * * *", "timezone": "Asia/Kolkata"}, headers=manager).json()
    next_run_at = instant(hourly["next_run_at"])
    assert next_run_at is not None and now < next_run_at <= now + timedelta(hours=1)
    assert next_run_at.minute == 30  # Kolkata is UTC+05:30
    # Disabled: no next run; enabled again: the next one after now.
    assert client.patch(path, json={"is_enabled": False}, headers=manager).json()["next_run_at"] is None
    now = datetime.now(UTC)
    enabled = client.patch(path, json={"is_enabled": True}, headers=manager).json()
    next_run_at = instant(enabled["next_run_at"])
    assert next_run_at is not None and now < next_run_at <= now + timedelta(hours=1)
    assert next_run_at.minute == 30
    # Checked like a new one.
    assert_field_error(client.patch(path, json={"cron": "99 * * * *"}, headers=manager), 422, "cron")
    assert_field_error(client.patch(path, json={"timezone": "Nowhere/City"}, headers=manager), 422, "timezone")
    assert client.get(path, headers=manager).json() == enabled


def test_changing_the_kind_clears_the_other_kinds_fields(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    manager = headers(people, "manager")
    created = create_schedule(people, cron_payload(people))
    path = f"{SCHEDULES}/{created['id']}"
    run_at = "2031-05-01T10:00:00+02:00"
    once = client.patch(path, json={"kind": "once", "run_at": run_at}, headers=manager)
    assert once.status_code == 200, once.text
    body = once.json()
    assert (body["kind"], body["cron"], body["timezone"]) == ("once", None, None)
    assert instant(body["run_at"]) == instant(body["next_run_at"]) == instant(run_at)
    # A kind without its fields is refused, naming the missing one.
    assert_field_error(client.patch(path, json={"kind": "cron"}, headers=manager), 422, "cron")
    back = client.patch(path, json={"kind": "cron", "cron": "@daily", "timezone": "UTC"}, headers=manager).json()
    assert (back["kind"], back["run_at"], back["cron"]) == ("cron", None, "@daily")
    midnight = instant(back["next_run_at"])
    assert midnight is not None and (midnight.hour, midnight.minute, midnight.utcoffset()) == (0, 0, timedelta(0))
    assert datetime.now(UTC) < midnight <= datetime.now(UTC) + timedelta(days=1)


@pytest.mark.parametrize("field", ["agent_id", "name", "kind", "input", "is_enabled"])
def test_a_required_field_sent_as_null_is_refused(people: dict[str, Any], field: str) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_schedule(people, cron_payload(people))
    response = client.patch(f"{SCHEDULES}/{created['id']}", json={field: None}, headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert "may be left out but not null" in response.text


def test_a_schedule_is_deleted_and_its_tasks_stay(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    manager = headers(people, "manager")
    created = create_schedule(people, cron_payload(people))
    with psycopg.connect(people["database_url"]) as conn:
        conn.execute(
            "INSERT INTO tasks (org_id, agent_id, schedule_id) VALUES (%s, %s, %s)",
            [people["default_org"], people["agent"], created["id"]],
        )
    path = f"{SCHEDULES}/{created['id']}"
    assert client.delete(path, headers=manager).status_code == 204
    assert client.get(path, headers=manager).status_code == 404
    assert client.delete(path, headers=manager).status_code == 404
    with psycopg.connect(people["database_url"]) as conn:
        assert conn.execute("SELECT schedule_id FROM tasks").fetchall() == [(None,)]


def test_the_services_scheduler_loop_queues_due_schedules(make_settings: Callable[..., Settings]) -> None:
    # No SIGNUP_ORG: the user owns an org of their own.
    app = create_app(make_settings(scheduler_enabled=True, scheduler_poll_seconds=0.05, signup_org=None))
    with TestClient(app=app) as client:
        owner = register(client, "owner@example.com")
        agent = client.post(f"{API}/agents", json={"name": "Bot"}, headers=bearer(owner["token"])).json()
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        created = client.post(
            SCHEDULES,
            json={"agent_id": agent["id"], "name": "Now", "kind": "once", "run_at": past},
            headers=bearer(owner["token"]),
        ).json()
        path = f"{SCHEDULES}/{created['id']}"
        deadline = time.monotonic() + 10
        while client.get(path, headers=bearer(owner["token"])).json()["is_enabled"]:
            assert time.monotonic() < deadline, "the scheduler loop did not fire the schedule"
            time.sleep(0.05)
        fired = client.get(path, headers=bearer(owner["token"])).json()
    assert (fired["next_run_at"], fired["last_run_at"] is not None) == (None, True)


def test_a_date_that_never_comes_is_refused_when_changed_to(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    manager = headers(people, "manager")
    created = create_schedule(people, cron_payload(people))
    path = f"{SCHEDULES}/{created['id']}"
    response = client.patch(path, json={"cron": "0 0 31 2 *"}, headers=manager)
    assert_field_error(response, 422, "cron")
    assert "never fires" in response.json()["detail"]
    assert client.get(path, headers=manager).json() == created
    # A leap day comes, every four years.
    assert client.patch(path, json={"cron": "0 0 29 2 *"}, headers=manager).status_code == 200


@pytest.mark.parametrize("run_at", ["9999-12-31T23:00:00-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_run_at_outside_the_calendar_in_utc_is_refused(people: dict[str, Any], run_at: str) -> None:
    # PostgreSQL would store it, but reading it back fails: this was a 500.
    client: TestClient[Litestar] = people["client"]
    response = client.post(SCHEDULES, json=once_payload(people, run_at=run_at), headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["run_at"]


def test_a_schedule_may_not_fire_more_often_than_the_minimum_interval(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(schedule_min_interval_seconds=300, signup_org=None)
    with TestClient(app=create_app(settings)) as client:
        owner = bearer(register(client, "owner@example.com")["token"])
        agent = client.post(f"{API}/agents", json={"name": "Bot"}, headers=owner).json()["id"]

        def create(cron: str) -> Any:
            payload = {"agent_id": agent, "name": cron, "kind": "cron", "cron": cron, "timezone": "Europe/Berlin"}
            return client.post(SCHEDULES, json=payload, headers=owner)

        for too_often in ("* * * * *", "*/4 * * * *", "0,59 * * * *", "2,58 * * * *", "* * * * * *"):
            response = create(too_often)
            assert response.status_code == 422, (too_often, response.text)
            assert [error["field"] for error in response.json()["errors"]] == ["cron"]
        assert "SCHEDULE_MIN_INTERVAL_SECONDS" in create("*/2 * * * *").json()["detail"]
        # Two minutes in an hour five apart, the hour's last and the next one's first: fine.
        for often_enough in ("*/5 * * * *", "0,5 * * * *", "57 * * * *", "@hourly"):
            assert create(often_enough).status_code == 201, often_enough
        # 23:58 and 00:01 the next day are three minutes apart: refused, unless the days never follow each other.
        assert create("58,1 23,0 * * *").status_code == 422
        assert create("58,1 23,0 1 * *").status_code == 201
        # An existing schedule keeps its cron when other fields change.
        created = create("*/5 * * * *").json()
        path = f"{SCHEDULES}/{created['id']}"
        assert client.patch(path, json={"cron": "*/3 * * * *"}, headers=owner).status_code == 422
        assert client.patch(path, json={"name": "renamed"}, headers=owner).status_code == 200
