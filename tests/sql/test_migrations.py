"""Migrations: every one rolls back, re-applying gives the same schema, and concurrent runs are safe."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentpress.db import embedded, migrations
from agentpress.db.paths import MIGRATIONS_DIR


def schema_dump(url: str) -> str:
    """The schema as pg_dump prints it, without yoyo's bookkeeping tables."""
    result = subprocess.run(
        [str(embedded.bin_path("pg_dump")), "--schema-only", "--no-owner", "--exclude-table=*yoyo*", "-d", url],
        check=True,
        capture_output=True,
        text=True,
    )
    # pg_dump 18 writes a random \restrict key per run; it is not part of the schema.
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def test_every_migration_has_a_rollback_and_a_depends_header() -> None:
    forward = sorted(p for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".rollback.sql"))
    assert forward
    for path in forward:
        assert path.with_name(path.name.replace(".sql", ".rollback.sql")).is_file(), path
        assert "-- depends:" in path.read_text(), path


def test_each_rollback_restores_the_schema_before_its_migration(empty_database_url: str, tmp_path: Path) -> None:
    # Applied one at a time (from a folder that grows by one migration a step), the schema after each;
    # then rolled back one at a time, each rollback must give back exactly the schema before its migration,
    # and applying them all again the same schema as the first time.
    ids = migrations.migration_ids()
    before = [schema_dump(empty_database_url)]
    for migration_id in ids:
        for path in MIGRATIONS_DIR.glob(f"{migration_id}.*"):
            shutil.copy(path, tmp_path)
        assert migrations.apply(empty_database_url, tmp_path) == [migration_id]
        before.append(schema_dump(empty_database_url))
    assert before[-1] != before[0]

    for migration_id in reversed(ids):
        assert migrations.rollback(empty_database_url) == [migration_id]
        expected, found = before.pop(-2), schema_dump(empty_database_url)
        assert found == expected, f"rolling back {migration_id}:\n" + "".join(
            difflib.unified_diff(expected.splitlines(True), found.splitlines(True), "before", "rolled back")
        )

    assert migrations.apply(empty_database_url) == ids
    assert schema_dump(empty_database_url) == before[-1]
    assert all(status.is_applied for status in migrations.status(empty_database_url))


def test_rolling_back_the_last_then_migrating_round_trips(empty_database_url: str) -> None:
    migrations.apply(empty_database_url)
    before = schema_dump(empty_database_url)
    last = migrations.migration_ids()[-1]
    assert migrations.rollback(empty_database_url) == [last]
    assert [s.migration_id for s in migrations.status(empty_database_url) if not s.is_applied] == [last]
    assert migrations.apply(empty_database_url) == [last]
    assert schema_dump(empty_database_url) == before


def run_cli(*args: str, url: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": "off"}
    return subprocess.run(
        [sys.executable, "-m", "agentpress.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_cli_status_rollback_migrate_and_reset(empty_database_url: str) -> None:
    last = migrations.migration_ids()[-1]
    assert run_cli("migrate", "apply", url=empty_database_url).returncode == 0
    status = run_cli("migrate", "status", url=empty_database_url)
    assert f"applied  {last}" in status.stdout

    rollback = run_cli("migrate", "rollback", url=empty_database_url)
    assert rollback.stdout.strip() == f"rolled back {last}"
    assert f"pending  {last}" in run_cli("migrate", "status", url=empty_database_url).stdout
    assert run_cli("migrate", "apply", url=empty_database_url).stdout.strip() == f"applied {last}"

    refused = run_cli("migrate", "reset", url=empty_database_url)
    assert refused.returncode == 2
    assert "FORCE=1" in refused.stderr
    reset = run_cli("migrate", "reset", "--force", url=empty_database_url)
    assert reset.returncode == 0
    assert f"rolled back {last}" in reset.stdout
    assert f"applied {last}" in reset.stdout


def test_new_migration_writes_a_numbered_pair_from_the_template(tmp_path: Path) -> None:
    (tmp_path / "0001.first.sql").write_text("-- first\n-- depends:\n")
    (tmp_path / "0001.first.rollback.sql").write_text("")
    forward, backward = migrations.new_migration("add-threads", source=tmp_path)
    assert forward.name == "0002.add-threads.sql"
    assert backward.name == "0002.add-threads.rollback.sql"
    assert "-- depends: 0001.first" in forward.read_text()
    with pytest.raises(ValueError, match="lower-case words"):
        migrations.new_migration("Add Threads", source=tmp_path)


def test_two_processes_migrating_at_once_apply_each_migration_once(empty_database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database_url, "REDIS_URL": "off"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "agentpress.cli", "migrate", "apply"], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    applied = [
        line.removeprefix("applied ") for out in outputs for line in out.splitlines() if line.startswith("applied")
    ]
    assert sorted(applied) == sorted(migrations.migration_ids())
    assert sum("nothing to apply" in out for out in outputs) == 2
