"""The realistic data set, loaded once per session for the plan tests: seed.sql, then seed_conversations.sql."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from helpers import EmbeddedServer
from pytest_postgresql.executors import NoopExecutor
from pytest_postgresql.janitor import DatabaseJanitor

HERE = Path(__file__).parent
PARTS = [HERE / "seed.sql", HERE / "seed_conversations.sql"]
# The tables that get a million rows: their secondary indexes are built after the load, not
# row by row during it (three times faster; the indexes come out the same).
BULK_TABLES = ("messages",)


@pytest.fixture(scope="session")
def realistic_url(migrated_template: NoopExecutor, embedded_server: EmbeddedServer) -> Iterator[str]:
    """A migrated database with about a million rows: 22,000 users in 2,020 orgs, 100,000 agents, 105,000
    threads, 1,020,000 messages, tasks, schedules, knowledge bases and analytics rollups. Read-only: the
    tests that use it only read and EXPLAIN."""
    janitor = DatabaseJanitor(
        user=embedded_server.user,
        host=embedded_server.host,
        port=embedded_server.port,
        dbname="realistic",
        template_dbname=migrated_template.template_dbname,
        password=None,
    )
    with janitor:
        url = embedded_server.url("realistic")
        started = time.monotonic()
        with psycopg.connect(url, autocommit=True) as conn:
            load(conn)
        print(f"realistic data set loaded in {time.monotonic() - started:.1f} s")
        yield url


def load(conn: psycopg.Connection[object]) -> None:
    found = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes i "
        "WHERE tablename = ANY(%s) AND schemaname = 'public' "
        "AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)",
        [list(BULK_TABLES)],
    )
    indexes = found.fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    # The seeds are consistent by construction: no foreign key checks, row by row, during the load.
    conn.execute("SET session_replication_role = replica")
    for part in PARTS:
        conn.execute(part.read_text())
    conn.execute("RESET session_replication_role")
    conn.execute("SET maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        conn.execute(definition)
    # Its own statement: VACUUM cannot run in the transaction of a multi-statement string. It sets
    # hint bits and the visibility map now, so that every EXPLAIN (ANALYZE, BUFFERS) reads the same.
    conn.execute("VACUUM (ANALYZE)")
    # ANALYZE samples 30,000 rows at random, and the estimate for a name pattern over 100k agents swung
    # with the sample: the name-search contract once failed on a sample that favoured another index. A
    # sample of every row gives the same statistics, and the same plans, every run.
    conn.execute("SET default_statistics_target = 1000")
    conn.execute("ANALYZE agents")
    conn.execute("RESET default_statistics_target")
