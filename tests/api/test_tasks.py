"""Tasks: queue, read, list and cancel in the org (members their own); the worker queue over REST (claim,
heartbeat, complete, fail) under lease tokens, for API keys with tasks:work and for owners and admins."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from helpers import People, api_key, bearer, headers, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services.crypto import hash_token
from agentpress.settings import Settings
from agentpress.web.app import create_app

API = "/api/v1"
TASKS = f"{API}/tasks"
CLAIM = f"{TASKS}/claim"


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: the platform admin (its owner), an org admin, a member and a guest who is even an org
    admin, and two agents. An outsider owns an org of their own ("other") with an agent of its own."""
    people = people_factory
    people.add("manager", org_role="admin")
    people.add("member")
    people.add("guest", org_role="admin", platform_role="guest")
    people.add("outsider")
    people["other_org"] = people.org("Other", owner="outsider")["id"]
    people["agent"] = people.agent("admin", name="agent")
    people["agent2"] = people.agent("admin", name="agent2")
    people["other_agent"] = people.agent("outsider", people["other_org"], name="other_agent")
    people["worker"] = people.api_key("admin", ["tasks:work"])
    return people


def create_task(
    people: dict[str, Any], who: str = "member", org_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    client: TestClient[Litestar] = people["client"]
    payload = {"agent_id": people["agent"], "input": {"q": "hello"}, **fields}
    response = client.post(TASKS, json=payload, headers=headers(people, who, org_id))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def claim(people: dict[str, Any], worker_id: str = "w1", who: str = "manager", **fields: Any) -> list[dict[str, Any]]:
    client: TestClient[Litestar] = people["client"]
    response = client.post(CLAIM, json={"worker_id": worker_id, **fields}, headers=headers(people, who))
    assert response.status_code == 200, response.text
    claimed: list[dict[str, Any]] = response.json()
    return claimed


def act(
    people: dict[str, Any], task_id: str, action: str, who: str = "manager", org_id: str | None = None, **body: Any
) -> Any:
    """`who` (a person, or "worker": the org's API key with tasks:work) posts `action` on a task."""
    client: TestClient[Litestar] = people["client"]
    signed = people["worker"] if who == "worker" else headers(people, who, org_id)
    return client.post(f"{TASKS}/{task_id}/{action}", json=body or None, headers=signed)


def sql(database_url: str, statement: str, *params: Any) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(statement, list(params))


def expire_lease(database_url: str, task_id: str) -> None:
    sql(database_url, "UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = %s", task_id)


def make_due(database_url: str, task_id: str) -> None:
    sql(database_url, "UPDATE tasks SET run_after = now() - interval '1 second' WHERE id = %s", task_id)


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def test_a_task_is_queued_read_and_listed_newest_first(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create_task(people, priority=5, max_attempts=2)
    assert set(created) == {
        "id",
        "org_id",
        "agent_id",
        "schedule_id",
        "thread_id",
        "status",
        "input",
        "output",
        "error",
        "attempt",
        "max_attempts",
        "priority",
        "run_after",
        "claimed_by",
        "lease_expires_at",
        "queued_at",
        "started_at",
        "finished_at",
        "created_by",
    }
    assert created["status"] == "queued"
    assert created["input"] == {"q": "hello"}
    assert (created["attempt"], created["max_attempts"], created["priority"]) == (0, 2, 5)
    assert created["created_by"] == people["member"]["user"]["id"]
    assert created["claimed_by"] is created["lease_expires_at"] is created["started_at"] is None
    assert client.get(f"{TASKS}/{created['id']}", headers=headers(people, "member")).json() == created

    second = create_task(people, agent_id=people["agent2"])
    page = client.get(TASKS, headers=headers(people, "guest")).json()
    assert [task["id"] for task in page["items"]] == [second["id"], created["id"]]
    assert (page["total"], page["page"], page["page_size"]) == (2, 1, 20)
    by_agent = client.get(TASKS, params={"agent_id": people["agent2"]}, headers=headers(people, "member")).json()
    assert [task["id"] for task in by_agent["items"]] == [second["id"]]
    assert by_agent["total"] == 1
    act(people, second["id"], "cancel", who="member")
    cancelled = client.get(TASKS, params={"status": "cancelled"}, headers=headers(people, "member")).json()
    assert [task["id"] for task in cancelled["items"]] == [second["id"]]
    paged = client.get(TASKS, params={"page": 2, "page_size": 1}, headers=headers(people, "member")).json()
    assert [task["id"] for task in paged["items"]] == [created["id"]]
    bad = client.get(TASKS, params={"status": "done"}, headers=headers(people, "member"))
    assert bad.status_code == 400


def test_tasks_are_filtered_by_schedule(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    task = create_task(people)
    create_task(people)
    with psycopg.connect(people["database_url"]) as conn:
        (schedule_id,) = conn.execute(  # type: ignore[misc]
            "INSERT INTO schedules (org_id, agent_id, name, kind, run_at)"
            " SELECT org_id, id, 'nightly', 'once', now() FROM agents WHERE id = %s RETURNING id::text",
            [people["agent"]],
        ).fetchone()
        conn.execute("UPDATE tasks SET schedule_id = %s WHERE id = %s", [schedule_id, task["id"]])
    page = client.get(TASKS, params={"schedule_id": schedule_id}, headers=headers(people, "member")).json()
    assert [item["id"] for item in page["items"]] == [task["id"]]
    assert page["items"][0]["schedule_id"] == schedule_id


def test_a_task_needs_an_agent_and_thread_of_the_org(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    for agent_id in (people["other_agent"], str(uuid.uuid4())):
        response = client.post(TASKS, json={"agent_id": agent_id}, headers=headers(people, "member"))
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "agent_id"
    response = client.post(
        TASKS, json={"agent_id": people["agent"], "thread_id": str(uuid.uuid4())}, headers=headers(people, "member")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "thread_id"
    for body in ({}, {"agent_id": people["agent"], "max_attempts": 0}, {"agent_id": people["agent"], "input": []}):
        assert client.post(TASKS, json=body, headers=headers(people, "member")).status_code == 400


def test_roles(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    task = create_task(people)
    assert client.post(TASKS, json={"agent_id": people["agent"]}, headers=headers(people, "guest")).status_code == 403
    assert act(people, task["id"], "cancel", who="guest").status_code == 403
    # Workers sign in as an owner or admin of the org: members and guests may not take or finish tasks.
    for who in ("member", "guest"):
        response = client.post(CLAIM, json={"worker_id": "w1"}, headers=headers(people, who))
        assert response.status_code == 403
    (claimed,) = claim(people)
    lease = claimed["lease_token"]
    for who in ("member", "guest"):
        assert act(people, claimed["id"], "heartbeat", who=who, lease_token=lease).status_code == 403
        assert act(people, claimed["id"], "complete", who=who, lease_token=lease).status_code == 403
        assert act(people, claimed["id"], "fail", who=who, lease_token=lease, error="x").status_code == 403
    # The platform admin owns the default org and may; so may an org admin (the manager, above).
    assert act(people, claimed["id"], "complete", who="admin", lease_token=lease).status_code == 200


def test_another_orgs_task_is_not_found(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    ours = create_task(people)
    theirs = create_task(people, who="outsider", org_id=people["other_org"], agent_id=people["other_agent"])
    assert client.get(f"{TASKS}/{theirs['id']}", headers=headers(people, "manager")).status_code == 404
    assert client.get(f"{TASKS}/{uuid.uuid4()}", headers=headers(people, "manager")).status_code == 404
    (their_claim,) = client.post(
        CLAIM, json={"worker_id": "w9"}, headers=headers(people, "outsider", people["other_org"])
    ).json()
    for who in ("manager", "worker"):
        for action, body in (
            ("cancel", {}),
            ("heartbeat", {"lease_token": their_claim["lease_token"]}),
            ("complete", {"lease_token": their_claim["lease_token"]}),
            ("fail", {"lease_token": their_claim["lease_token"], "error": "x"}),
        ):
            if who == "worker" and action == "cancel":
                continue  # not a key's route
            response = act(people, theirs["id"], action, who=who, **body)
            assert response.status_code == 404, (who, action, response.text)
            assert response.json()["code"] == "not_found"
    # A claim takes only the org's own tasks, and the listing shows only them.
    assert [task["id"] for task in claim(people, limit=10)] == [ours["id"]]
    assert [task["id"] for task in client.get(TASKS, headers=headers(people, "manager")).json()["items"]] == [
        ours["id"]
    ]
    assert their_claim["id"] == theirs["id"]


def test_a_claim_takes_due_tasks_by_priority_then_age(people: dict[str, Any]) -> None:
    low = create_task(people, priority=0)
    high = create_task(people, priority=10)
    later = create_task(people, priority=20, run_after=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    low2 = create_task(people, priority=0)
    other_agent = create_task(people, priority=30, agent_id=people["agent2"])

    first = claim(people, "w1", limit=2, lease_seconds=60)
    assert sorted(task["id"] for task in first) == sorted([other_agent["id"], high["id"]])
    for task in first:
        assert task["status"] == "running"
        assert task["claimed_by"] == "w1"
        assert task["attempt"] == 1
        assert task["started_at"] is not None
        lease = parse(task["lease_expires_at"]) - parse(task["started_at"])
        assert timedelta(seconds=59) < lease <= timedelta(seconds=61)
    # Only the given agents' tasks; the task not due yet is never handed out.
    assert claim(people, "w2", agent_ids=[people["agent2"]]) == []
    rest = claim(people, "w2", limit=100)
    assert sorted(task["id"] for task in rest) == sorted([low["id"], low2["id"]])
    assert later["id"] not in {task["id"] for task in rest}
    assert claim(people, "w3", limit=100) == []
    for body in ({"worker_id": ""}, {"worker_id": "w", "limit": 101}, {"worker_id": "w", "lease_seconds": 0}):
        response = people["client"].post(CLAIM, json=body, headers=headers(people, "manager"))
        assert response.status_code == 400, body


def test_complete_and_cancel_transitions(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    task = create_task(people)
    assert act(people, task["id"], "complete", lease_token="none yet").status_code == 409  # still queued
    (claimed,) = claim(people, "w1")
    wrong = act(people, task["id"], "complete", lease_token="not-the-lease", output={})
    assert wrong.status_code == 409
    assert "no longer holds" in wrong.json()["detail"]
    done = act(people, task["id"], "complete", lease_token=claimed["lease_token"], output={"answer": 42})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["output"], body["claimed_by"], body["lease_expires_at"]) == (
        "succeeded",
        {"answer": 42},
        "w1",
        None,
    )
    assert body["finished_at"] is not None
    for action, extra in (
        ("complete", {"lease_token": claimed["lease_token"]}),
        ("fail", {"lease_token": claimed["lease_token"], "error": "x"}),
        ("heartbeat", {"lease_token": claimed["lease_token"]}),
        ("cancel", {}),
    ):
        response = act(people, task["id"], action, who="manager", **extra)
        assert response.status_code == 409, action
        assert response.json()["detail"].endswith("it is succeeded")

    queued = create_task(people)
    cancelled = act(people, queued["id"], "cancel", who="member")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["finished_at"] is not None
    assert act(people, queued["id"], "cancel", who="member").status_code == 409
    assert claim(people, "w1") == []

    running = create_task(people)
    (held,) = claim(people, "w1")
    assert act(people, running["id"], "cancel", who="member").json()["status"] == "cancelled"
    # The worker learns it on its next call: its lease is gone.
    assert act(people, running["id"], "heartbeat", lease_token=held["lease_token"]).status_code == 409
    assert act(people, running["id"], "complete", lease_token=held["lease_token"]).status_code == 409
    assert act(people, running["id"], "fail", lease_token=held["lease_token"], error="x").status_code == 409
    final = client.get(f"{TASKS}/{running['id']}", headers=headers(people, "member")).json()
    assert (final["status"], final["output"]) == ("cancelled", None)
    assert claimed["id"] == task["id"]


def test_a_heartbeat_extends_the_lease_of_its_holder_only(people: dict[str, Any]) -> None:
    task = create_task(people)
    (claimed,) = claim(people, "w1", lease_seconds=10)
    beat = act(people, task["id"], "heartbeat", lease_token=claimed["lease_token"], lease_seconds=600)
    assert beat.status_code == 200, beat.text
    assert parse(beat.json()["lease_expires_at"]) > parse(claimed["lease_expires_at"]) + timedelta(seconds=500)
    assert act(people, task["id"], "heartbeat", lease_token="someone-else").status_code == 409
    expire_lease(people["database_url"], task["id"])
    assert act(people, task["id"], "heartbeat", lease_token=claimed["lease_token"]).status_code == 409


def test_failures_back_off_exponentially_until_max_attempts(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    task = create_task(people, max_attempts=3)
    for attempt, backoff in ((1, 2), (2, 4)):
        (claimed,) = claim(people, "w1")
        assert claimed["attempt"] == attempt
        failed = act(people, task["id"], "fail", lease_token=claimed["lease_token"], error=f"boom {attempt}")
        assert failed.status_code == 200, failed.text
        body = failed.json()
        assert (body["status"], body["attempt"], body["error"]) == ("queued", attempt, f"boom {attempt}")
        assert body["claimed_by"] is body["lease_expires_at"] is body["finished_at"] is None
        delay = parse(body["run_after"]) - datetime.now(UTC)
        assert timedelta(seconds=backoff - 1) < delay <= timedelta(seconds=backoff), delay
        # Not due before the backoff has passed.
        assert claim(people, "w1") == []
        make_due(people["database_url"], task["id"])
    (claimed,) = claim(people, "w1")
    assert claimed["attempt"] == 3
    last = act(people, task["id"], "fail", lease_token=claimed["lease_token"], error="boom 3").json()
    assert (last["status"], last["attempt"], last["error"], last["claimed_by"]) == ("failed", 3, "boom 3", "w1")
    assert last["finished_at"] is not None
    assert claim(people, "w1") == []
    assert client.get(f"{TASKS}/{task['id']}", headers=headers(people, "member")).json() == last

    # A failure that is not retryable is final at once.
    other = create_task(people, max_attempts=5)
    (held,) = claim(people, "w1")
    final = act(people, other["id"], "fail", lease_token=held["lease_token"], error="bad input", retryable=False).json()
    assert (final["status"], final["attempt"]) == ("failed", 1)


def test_an_expired_lease_is_reclaimed_and_its_old_holder_refused(people: dict[str, Any]) -> None:
    task = create_task(people)
    (first,) = claim(people, "w1", lease_seconds=60)
    expire_lease(people["database_url"], task["id"])
    # Expired but not yet reclaimed: the old holder may no longer finish it either.
    assert act(people, task["id"], "complete", lease_token=first["lease_token"]).status_code == 409
    (reclaimed,) = claim(people, "w2")
    assert (reclaimed["id"], reclaimed["claimed_by"], reclaimed["attempt"]) == (task["id"], "w2", 2)
    assert reclaimed["lease_token"] != first["lease_token"]
    late = act(people, task["id"], "complete", lease_token=first["lease_token"], output={"late": True})
    assert late.status_code == 409
    assert act(people, task["id"], "fail", lease_token=first["lease_token"], error="late").status_code == 409
    done = act(people, task["id"], "complete", lease_token=reclaimed["lease_token"], output={"by": "w2"}).json()
    assert (done["status"], done["output"], done["claimed_by"]) == ("succeeded", {"by": "w2"}, "w2")


def test_a_lease_that_expires_on_the_last_attempt_fails_the_task(people: dict[str, Any]) -> None:
    # A task that kills its worker every time must not be handed out for ever.
    task = create_task(people, max_attempts=2)
    for worker in ("w1", "w2"):
        (claimed,) = claim(people, worker, lease_seconds=60)
        assert claimed["id"] == task["id"]
        expire_lease(people["database_url"], task["id"])
    assert claim(people, "w3") == []
    client: TestClient[Litestar] = people["client"]
    failed = client.get(f"{TASKS}/{task['id']}", headers=headers(people, "member")).json()
    assert (failed["status"], failed["attempt"], failed["error"]) == (
        "failed",
        2,
        "the worker's lease expired on the last attempt",
    )
    assert failed["finished_at"] is not None and failed["lease_expires_at"] is None


def test_members_may_not_raise_priority_above_the_cap_but_managers_may(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    cap = Settings.model_fields["task_member_max_priority"].default
    payload = {"agent_id": people["agent"], "priority": cap + 1}
    response = client.post(TASKS, json=payload, headers=headers(people, "member"))
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["priority"]
    assert "TASK_MEMBER_MAX_PRIORITY" in response.json()["detail"]
    assert create_task(people, "member", priority=cap)["priority"] == cap
    assert create_task(people, "member", priority=-1000)["priority"] == -1000
    # Owners and admins go up to the model's maximum, and no further.
    assert create_task(people, "manager", priority=1000)["priority"] == 1000
    assert create_task(people, "admin", priority=1000)["priority"] == 1000
    response = client.post(TASKS, json={**payload, "priority": 1001}, headers=headers(people, "manager"))
    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["priority"]


def test_an_orgs_queued_tasks_are_capped(make_settings: Callable[..., Settings]) -> None:
    # Personal orgs (no SIGNUP_ORG): the owner owns one, so may queue and work its tasks.
    with TestClient(app=create_app(make_settings(max_queued_tasks_per_org=2, signup_org=None))) as client:
        owner = register(client, "owner@example.com")
        outsider = register(client, "outsider@example.com")
        other_org = client.post(
            f"{API}/orgs", json={"name": "Other", "slug": "other"}, headers=bearer(outsider["token"])
        )
        ours = client.post(f"{API}/agents", json={"name": "a"}, headers=bearer(owner["token"])).json()["id"]
        theirs_headers = {**bearer(outsider["token"]), "X-Org-Id": other_org.json()["id"]}
        theirs = client.post(f"{API}/agents", json={"name": "b"}, headers=theirs_headers).json()["id"]

        def queue(agent_id: str, who: dict[str, str]) -> Any:
            return client.post(TASKS, json={"agent_id": agent_id}, headers=who)

        first, second = (queue(ours, bearer(owner["token"])) for _ in range(2))
        assert (first.status_code, second.status_code) == (201, 201)
        full = queue(ours, bearer(owner["token"]))
        assert full.status_code == 409, full.text
        assert full.json()["code"] == "queue_full"
        assert [error["field"] for error in full.json()["errors"]] == ["max_queued_tasks_per_org"]
        assert "MAX_QUEUED_TASKS_PER_ORG" in full.json()["detail"]
        # Another org has a queue of its own.
        assert queue(theirs, theirs_headers).status_code == 201
        # Queued tasks count, running and finished ones do not: a claim and a cancellation make room.
        claimed = client.post(CLAIM, json={"worker_id": "w1"}, headers=bearer(owner["token"])).json()
        assert len(claimed) == 1
        assert queue(ours, bearer(owner["token"])).status_code == 201
        assert queue(ours, bearer(owner["token"])).status_code == 409
        cancelled = client.post(f"{TASKS}/{second.json()['id']}/cancel", headers=bearer(owner["token"]))
        assert cancelled.status_code == 200, cancelled.text
        assert queue(ours, bearer(owner["token"])).status_code == 201
        listed = client.get(TASKS, params={"status": "queued"}, headers=bearer(owner["token"])).json()
        assert listed["total"] == 2


@pytest.mark.parametrize("run_after", ["9999-12-31T23:00:00-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_run_after_outside_the_calendar_in_utc_is_refused(people: dict[str, Any], run_after: str) -> None:
    # PostgreSQL would store it, but reading it back fails: this was a 500.
    client: TestClient[Litestar] = people["client"]
    response = client.post(
        TASKS, json={"agent_id": people["agent"], "run_after": run_after}, headers=headers(people, "member")
    )
    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["run_after"]


def test_members_see_and_cancel_only_the_tasks_they_created(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    people["member2"] = register(client, "member2@example.com")
    mine = create_task(people, "member")
    theirs = create_task(people, "member2")
    managers = create_task(people, "manager")
    listed = client.get(TASKS, headers=headers(people, "member")).json()
    assert ([task["id"] for task in listed["items"]], listed["total"]) == ([mine["id"]], 1)
    assert client.get(f"{TASKS}/{mine['id']}", headers=headers(people, "member")).status_code == 200
    for task in (theirs, managers):
        # Another member's task is not found, as another org's is.
        assert client.get(f"{TASKS}/{task['id']}", headers=headers(people, "member")).status_code == 404
        refused = act(people, task["id"], "cancel", who="member")
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert client.get(f"{TASKS}/{theirs['id']}", headers=headers(people, "member2")).json()["status"] == "queued"
    # Owners and admins (the platform admin owns the org) see and cancel every task.
    everyone = {mine["id"], theirs["id"], managers["id"]}
    for who in ("admin", "manager"):
        assert {task["id"] for task in client.get(TASKS, headers=headers(people, who)).json()["items"]} == everyone
    assert client.get(f"{TASKS}/{theirs['id']}", headers=headers(people, "manager")).status_code == 200
    assert act(people, theirs["id"], "cancel", who="manager").json()["status"] == "cancelled"
    # A member cancelling their own finished task still learns why.
    assert act(people, mine["id"], "cancel", who="member").status_code == 200
    assert act(people, mine["id"], "cancel", who="member").status_code == 409


def test_a_task_names_a_thread_of_the_caller_or_any_for_owners_and_admins(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    people["member2"] = register(client, "member2@example.com")
    threads = {}
    for who in ("member", "member2"):
        created = client.post(f"{API}/threads", json={"name": who}, headers=headers(people, who))
        assert created.status_code == 201, created.text
        threads[who] = created.json()["id"]
    assert create_task(people, "member", thread_id=threads["member"])["thread_id"] == threads["member"]
    payload = {"agent_id": people["agent"], "thread_id": threads["member2"]}
    refused = client.post(TASKS, json=payload, headers=headers(people, "member"))
    assert refused.status_code == 422, refused.text
    assert [error["field"] for error in refused.json()["errors"]] == ["thread_id"]
    assert create_task(people, "manager", thread_id=threads["member2"])["thread_id"] == threads["member2"]


def test_an_api_key_with_tasks_work_works_the_queue_of_its_org(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    task = create_task(people)
    theirs = create_task(people, who="outsider", org_id=people["other_org"], agent_id=people["other_agent"])
    # The key acts for its org only: naming another is 404, as for an outsider.
    elsewhere = client.post(
        CLAIM, json={"worker_id": "k"}, headers={**people["worker"], "X-Org-Id": people["other_org"]}
    )
    assert elsewhere.status_code == 404
    (claimed,) = client.post(CLAIM, json={"worker_id": "k", "limit": 10}, headers=people["worker"]).json()
    assert (claimed["id"], claimed["claimed_by"]) == (task["id"], "k")
    assert act(people, theirs["id"], "heartbeat", who="worker", lease_token=claimed["lease_token"]).status_code == 404
    beat = act(people, task["id"], "heartbeat", who="worker", lease_token=claimed["lease_token"])
    assert beat.status_code == 200, beat.text
    assert "lease_token" not in beat.json()  # shown by the claim only
    done = act(people, task["id"], "complete", who="worker", lease_token=claimed["lease_token"], output={"ok": 1})
    assert done.json()["status"] == "succeeded"
    # Without the scope, the queue is closed; and a key is no user, so the rest of the tasks API too.
    reader = api_key(client, headers(people, "admin"), ["messages:read"], name="reader")
    refused = client.post(CLAIM, json={"worker_id": "k"}, headers=reader)
    assert refused.status_code == 403
    assert "tasks:work" in refused.json()["detail"]
    for method, url, body in (
        ("GET", TASKS, None),
        ("GET", f"{TASKS}/{task['id']}", None),
        ("POST", TASKS, {"agent_id": people["agent"]}),
        ("POST", f"{TASKS}/{task['id']}/cancel", None),
    ):
        response = client.request(method, url, json=body, headers=people["worker"])
        assert response.status_code == 403, (method, url, response.text)
        assert "API key" in response.json()["detail"]


def test_the_lease_token_is_required_and_only_its_hash_is_stored(people: dict[str, Any]) -> None:
    task = create_task(people)
    (claimed,) = claim(people, "w1")
    # The worker id is a label, not a credential: it no longer finishes a task.
    for action in ("heartbeat", "complete", "fail"):
        response = act(people, task["id"], action, worker_id="w1", error="x")
        assert response.status_code == 400, response.text
        assert [error["field"] for error in response.json()["errors"]] == ["lease_token"]
    with psycopg.connect(people["database_url"]) as conn:
        (stored,) = conn.execute("SELECT lease_token_hash FROM tasks WHERE id = %s", [task["id"]]).fetchone()  # type: ignore[misc]
    assert stored == hash_token(claimed["lease_token"])
    assert len(claimed["lease_token"]) == 43
    assert act(people, task["id"], "complete", lease_token=claimed["lease_token"]).status_code == 200
