"""Several service instances on one database: work per item done once, a once-per-deployment loop under one leader."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from helpers import SECRET_KEY, holding
from litestar import Litestar
from litestar.testing import TestClient
from test_mail import Inbox, queue, smtp_server  # noqa: F401 (smtp_server is a fixture)
from test_scheduler import add_cron_schedule, make_agent

from agentpress.repositories import outbox
from agentpress.services.crypto import Encryptor
from agentpress.services.election import Leader, lock_key
from agentpress.services.mail import LEASE_SECONDS, SMTP_OPERATIONS, SMTP_TIMEOUT_SECONDS, SmtpSender, deliver_pending
from agentpress.settings import Settings
from agentpress.web.app import create_app

INSTANCES = 3
log = logging.getLogger("tests.leadership")


def wait_for(predicate: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


async def wait_until(predicate: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
def instances(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., list[TestClient[Litestar]]]]:
    """Start INSTANCES apps with the same settings (each with its own pools and loops) on this test's database."""
    with ExitStack() as stack:

        def start(**overrides: object) -> list[TestClient[Litestar]]:
            settings = make_settings(**overrides)
            return [stack.enter_context(TestClient(app=create_app(settings))) for _ in range(INSTANCES)]

        yield start


def leader_lock_holders(database_url: str, name: str) -> list[int]:
    """The backends holding the leader lock of the loop `name` in this database."""
    key = lock_key(name)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND classid::bigint = %s AND objid::bigint = %s AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [key >> 32, key & 0xFFFFFFFF],
        ).fetchall()
    return [pid for (pid,) in rows]


# Work per item: parallel in every instance, each item done once.


def test_each_schedule_occurrence_fires_once_across_instances(
    instances: Callable[..., list[TestClient[Litestar]]], database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        org_id, agent_id = make_agent(conn)
        for n in range(60):
            add_cron_schedule(conn, org_id, agent_id, cron="0 * * * *", next_run_at="-1 minute", name=f"s{n}")

    def tasks() -> tuple[int, int]:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT schedule_id) FROM tasks").fetchone()
        assert row is not None
        return row[0], row[1]

    instances(scheduler_enabled=True, scheduler_poll_seconds=0.05)
    wait_for(lambda: tasks()[1] == 60)
    # Every instance has polled again since: nothing more is due, so nothing fires twice.
    time.sleep(0.3)
    assert tasks() == (60, 60)


def test_each_mail_is_handed_to_smtp_once_across_instances(
    instances: Callable[..., list[TestClient[Litestar]]],
    database_url: str,
    smtp_server: tuple[str, Inbox],  # noqa: F811
) -> None:
    smtp_url, inbox = smtp_server

    async def queue_all() -> list[Any]:
        cipher = Encryptor(SECRET_KEY)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            return [await queue(conn, cipher, f"user{n}@example.com") for n in range(30)]

    ids = asyncio.run(queue_all())

    def sent() -> int:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*) FROM email_outbox WHERE sent_at IS NOT NULL").fetchone()
        assert row is not None
        return int(row[0])

    instances(smtp_url=smtp_url, smtp_allow_plaintext=True, outbox_poll_seconds=0.05)
    wait_for(lambda: sent() == 30)
    time.sleep(0.3)  # every instance polls again: nothing is left to send twice
    assert sorted(message["To"] for message in inbox.messages) == sorted(f"user{n}@example.com" for n in range(30))
    # One Message-ID per outbox row, made from its id.
    assert sorted(message["Message-ID"] for message in inbox.messages) == sorted(
        f"<{email_id}@agentpress.local>" for email_id in ids
    )


@pytest.mark.anyio
async def test_a_retried_message_keeps_its_message_id(database_url: str, smtp_server: tuple[str, Inbox]) -> None:  # noqa: F811
    smtp_url, inbox = smtp_server
    cipher = Encryptor(SECRET_KEY)
    sender = SmtpSender(smtp_url, "AgentPress <no-reply@example.com>", allow_plaintext=True)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        email_id = await queue(conn, cipher, "ada@example.com")
        assert await deliver_pending(holding(conn), sender, cipher) == 1
        # A sender that died after the server took the message but before it was marked sent: the lease
        # ends and another sender sends it again.
        await conn.execute("UPDATE email_outbox SET sent_at = NULL, next_attempt_at = now() WHERE id = %s", [email_id])
        assert await deliver_pending(holding(conn), sender, cipher) == 1
    first, second = inbox.messages
    assert first["Message-ID"] == second["Message-ID"] == f"<{email_id}@example.com>"


@pytest.mark.anyio
async def test_the_outbox_lease_outlives_the_slowest_send(database_url: str) -> None:
    assert LEASE_SECONDS > SMTP_TIMEOUT_SECONDS * SMTP_OPERATIONS
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await queue(conn, Encryptor(SECRET_KEY), "ada@example.com")
        async with conn.transaction():  # one now() for the claim and the check
            email = await outbox.claim_next_email(conn, max_attempts=10, lease_seconds=LEASE_SECONDS)
            assert email is not None
            row = await (
                await conn.execute(
                    "SELECT next_attempt_at - now() >= make_interval(secs => %s) FROM email_outbox WHERE id = %s",
                    [LEASE_SECONDS, email.id],
                )
            ).fetchone()
        assert row == (True,)
        # Leased: another sender finds nothing to take.
        assert await outbox.claim_next_email(conn, max_attempts=10, lease_seconds=LEASE_SECONDS) is None


# Once per deployment: a leader, and another when it goes.


@pytest.mark.anyio
async def test_one_leader_runs_the_loop_and_another_takes_over_when_it_stops(database_url: str) -> None:
    name = f"test loop {uuid4()}"
    running: set[int] = set()
    rounds: list[int] = []
    overlaps: list[set[int]] = []

    def work_of(instance: int) -> Callable[[], Any]:
        async def work() -> None:
            running.add(instance)
            try:
                while True:
                    if len(running) > 1:
                        overlaps.append(set(running))
                    rounds.append(instance)
                    await asyncio.sleep(0.02)
            finally:
                running.discard(instance)

        return work

    leaders = [Leader(name, database_url, every=0.05, log=log) for _ in range(INSTANCES)]
    tasks = [asyncio.create_task(leader.lead(work_of(n))) for n, leader in enumerate(leaders)]
    try:
        await wait_until(lambda: len(rounds) >= 10)
        first = rounds[0]
        assert set(rounds) == {first}, "one instance runs the loop"
        assert [leader.is_leading for leader in leaders].count(True) == 1
        tasks[first].cancel()  # the leader stops: its connection closes, and with it the lock
        await wait_until(lambda: any(instance != first for instance in rounds))
        second = next(instance for instance in rounds if instance != first)
        assert leaders[second].is_leading and not leaders[first].is_leading
        count = len(rounds)
        await wait_until(lambda: len(rounds) >= count + 10)
        assert set(rounds[rounds.index(second) :]) == {second}
        assert overlaps == []
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_the_analytics_refresh_runs_in_one_instance_and_fails_over(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(analytics_refresh_enabled=True, analytics_refresh_seconds=0.05)
    clients = [TestClient(app=create_app(settings)) for _ in range(INSTANCES)]
    running = [client.__enter__() for client in clients]
    try:
        leaders: list[Leader] = [client.app.state.refresh_leader for client in clients]

        def leading() -> list[int]:
            return [n for n, leader in enumerate(leaders) if leader.is_leading]

        wait_for(lambda: len(leading()) == 1)
        assert len(leader_lock_holders(database_url, "analytics refresh")) == 1
        (first,) = leading()
        time.sleep(0.3)  # several intervals: still the same one, and only it
        assert leading() == [first]
        running.remove(clients[first])
        clients[first].__exit__(None, None, None)  # the leader's process stops
        wait_for(lambda: len(leading()) == 1 and leading() != [first])
        assert len(leader_lock_holders(database_url, "analytics refresh")) == 1
    finally:
        for client in running:
            client.__exit__(None, None, None)
