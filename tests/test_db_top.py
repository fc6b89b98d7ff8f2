"""`agentpress db top`: the statements with the most total time, named queries under their names; and
pg_stat_statements preloaded by the embedded server, new or made by an earlier version."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from agentpress import cli
from agentpress.db import embedded
from agentpress.db.queries import queries
from agentpress.db.querystats import query_names, skeleton, statement_name
from agentpress.repositories import orgs, statements, system


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REDIS_URL", "off")
    return database_url


def top_rows(out: str) -> dict[str, list[str]]:
    """db top's lines by name: the columns after it (calls, total ms, mean ms, rows)."""
    lines = out.splitlines()
    assert lines[0].split() == ["name", "calls", "total", "ms", "mean", "ms", "rows"], out
    return {line.rsplit(None, 4)[0]: line.rsplit(None, 4)[1:] for line in lines[1:]}


def test_db_top_shows_named_queries_by_name(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def run_queries() -> None:
        async with await psycopg.AsyncConnection.connect(env, autocommit=True) as conn:
            for _ in range(3):
                await system.list_applied_migrations(conn)
            for _ in range(2):
                await orgs.get_org_by_slug(conn, slug="default")

    asyncio.run(run_queries())
    assert cli.main(["db", "top", "--limit", "50"]) == 0
    rows = top_rows(capsys.readouterr().out)
    calls, total_ms, mean_ms, returned = rows["system.list_applied_migrations"]
    assert int(calls) == 3
    assert int(returned) == 3 * queries_applied(env)
    assert float(total_ms) >= float(mean_ms) >= 0
    assert rows["orgs.get_org_by_slug"][0] == "2"
    assert rows["orgs.get_org_by_slug"][3] == "2"

    # --limit caps the list; the first is the one with the most total time.
    assert cli.main(["db", "top", "--limit", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def queries_applied(url: str) -> int:
    with psycopg.connect(url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM _yoyo_migration").fetchone()  # type: ignore[misc]
    return int(count)


def test_db_top_without_the_extension_says_so(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    monkeypatch.setenv("REDIS_URL", "off")
    assert cli.main(["db", "top"]) == 2
    assert "pg_stat_statements is not installed in this database" in capsys.readouterr().err


def test_every_named_query_is_named_as_the_server_records_it(database_url: str) -> None:
    # The server's text differs from the file's: PostgreSQL 18 drops the leading /* file.name */,
    # constants become $n and lists of them are squashed. Run every query that runs with null
    # parameters (rolled back), then name what pg_stat_statements recorded.
    ran = set()
    with psycopg.connect(database_url, autocommit=True) as conn:
        # The server keeps pg_stat_statements.max statements over all databases and evicts the least
        # run when full: after the whole suite, this test's one-off statements would be first to go.
        conn.execute("SELECT pg_stat_statements_reset()")
    with psycopg.connect(database_url) as conn, conn.transaction(force_rollback=True):
        for query in queries:
            if query.kind == "copy":
                continue
            try:
                with conn.transaction():
                    conn.execute(query.sql, dict.fromkeys(query.params))
                ran.add(f"{query.domain}.{query.name}")
            except psycopg.Error:
                pass  # not recorded: pg_stat_statements counts statements that complete

    async def top() -> list[str]:
        names = query_names(queries)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            return [statement_name(s.query, names) for s in await statements.list_top_statements(conn, limit=10_000)]

    assert len(ran) > 100
    assert ran <= set(asyncio.run(top()))


def test_statement_names() -> None:
    names = query_names(queries)
    assert statement_name(queries.threads.get_thread.sql, names) == "threads.get_thread"
    # As PostgreSQL 18 records it: no leading comment, constants as $n, a list of them squashed.
    recorded = queries.tasks.cancel_task.positional_sql().split("*/", 1)[1]
    recorded = recorded.replace("IN ('queued', 'running')", "IN ($4 /*, ... */)")
    assert skeleton(recorded) == skeleton(queries.tasks.cancel_task.positional_sql())
    assert statement_name(recorded, names) == "tasks.cancel_task"
    # Another version of the service, on a server that keeps the comment.
    assert statement_name("/* threads.get_thread_v2 */ SELECT 1", names) == "threads.get_thread_v2"
    assert statement_name("SELECT   1\n  FROM t", names) == "SELECT 1 FROM t"
    long = "UPDATE some_table SET a_column = a_column + 1 WHERE another_column IN (SELECT id FROM other_table)"
    assert statement_name(long, names).endswith("...") and len(statement_name(long, names)) == 60
    assert statement_name(None, names) == "(text unavailable)"


def test_the_test_server_preloads_pg_stat_statements(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        (preloaded,) = conn.execute("SHOW shared_preload_libraries").fetchone()  # type: ignore[misc]
        assert "pg_stat_statements" in preloaded
        # And counts: the view answers.
        conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()


def test_a_data_directory_without_the_setting_gets_it_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pgdata = tmp_path / "pgdata"
    try:
        url = embedded.start(pgdata, database="postgres")
        # As a data directory made by an earlier version of the service is.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET shared_preload_libraries")
            conn.execute("CREATE EXTENSION pg_stat_statements")
        embedded.restart(pgdata)
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("REDIS_URL", "off")
        assert cli.main(["db", "top"]) == 2
        assert "pg_stat_statements is not loaded by this server" in capsys.readouterr().err

        embedded.stop(pgdata)
        url = embedded.start(pgdata, database="postgres")
        with psycopg.connect(url) as conn:
            (preloaded,) = conn.execute("SHOW shared_preload_libraries").fetchone()  # type: ignore[misc]
        assert preloaded == "pg_stat_statements"
        assert cli.main(["db", "top"]) == 0

        # A library the operator preloads stays.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'auto_explain'")
        embedded.restart(pgdata)
        url = embedded.start(pgdata, database="postgres")
        with psycopg.connect(url) as conn:
            (preloaded,) = conn.execute("SHOW shared_preload_libraries").fetchone()  # type: ignore[misc]
        assert preloaded == "auto_explain, pg_stat_statements"
    finally:
        embedded.stop(pgdata)
