"""sql/schema.sql is the schema the migrations make: a schema change without a snapshot update fails here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from agentpress import cli
from agentpress.db import embedded, schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_migrated_schema_is_the_committed_snapshot(database_url: str) -> None:
    found = schema.snapshot_diff(database_url)
    assert found == "", f"sql/schema.sql is not what the migrations make; run `make schema`:\n{found}"


def test_a_schema_change_without_a_snapshot_update_fails_with_the_diff(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE threads ADD COLUMN topic text")
    found = schema.snapshot_diff(database_url)
    assert found.startswith("--- sql/schema.sql\n"), found
    added = [line for line in found.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+    topic text,"], found
    # Its context shows where: among the columns and checks of threads.
    assert " CONSTRAINT threads_" in found.split("+    topic text,")[1], found


def test_every_table_says_what_it_is_for(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE '%%yoyo%%' "
            "AND obj_description(c.oid, 'pg_class') IS NULL ORDER BY 1"
        ).fetchall()
    assert rows == [], "tables without COMMENT ON TABLE (write one in a migration)"
    assert "COMMENT ON TABLE public.tasks IS" in schema.read_snapshot()


def test_the_normalized_dump_is_the_same_on_every_run(database_url: str) -> None:
    raw = [
        subprocess.run(
            [str(embedded.bin_path("pg_dump")), "--schema-only", f"--dbname={database_url}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    # pg_dump 18 writes a random \restrict key per run, and names its own version and the server's.
    assert raw[0] != raw[1]
    assert "\\restrict " in raw[0] and "-- Dumped by pg_dump version" in raw[0]
    assert schema.normalize(raw[0]) == schema.normalize(raw[1])
    snapshot = schema.read_snapshot()
    assert "\\restrict" not in snapshot and "-- Dumped" not in snapshot and "\nSET " not in snapshot
    assert "yoyo" not in snapshot


def test_cli_db_schema_writes_the_snapshot_and_check_prints_the_diff(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # On the server of DATABASE_URL: the migrations run in a scratch database beside it.
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", "off")
    snapshot = tmp_path / "schema.sql"
    monkeypatch.setattr(schema, "SNAPSHOT", snapshot)

    assert cli.main(["db", "schema"]) == 0
    assert capsys.readouterr().out == f"wrote {snapshot}\n"
    assert snapshot.read_text() == (ROOT / "sql" / "schema.sql").read_text()
    assert cli.main(["db", "schema", "--check"]) == 0
    assert capsys.readouterr().out == f"{snapshot} is up to date\n"

    # A snapshot that misses a comment the migrations write: --check fails and prints the diff.
    line = "COMMENT ON COLUMN public.tasks.priority IS 'Higher runs first; within a priority, the oldest first.';\n"
    assert line in snapshot.read_text()
    snapshot.write_text(snapshot.read_text().replace(line, ""))
    assert cli.main(["db", "schema", "--check"]) == 1
    out, err = capsys.readouterr()
    assert f"+{line}" in out
    assert "run `make schema`" in err
    # And no scratch database is left behind.
    with psycopg.connect(database_url) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'agentpress_schema%%'").fetchall()
    assert left == []
