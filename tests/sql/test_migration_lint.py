"""Migration lint: squawk, with the project's .squawk.toml, passes the migrations and catches an unsafe one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agentpress.db.paths import MIGRATIONS_DIR

ROOT = Path(__file__).resolve().parents[2]
SQUAWK = Path(sys.executable).with_name("squawk")


def squawk(*paths: Path) -> subprocess.CompletedProcess[str]:
    command = [str(SQUAWK), "--config", str(ROOT / ".squawk.toml"), "--reporter", "gcc", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)


def test_the_migrations_pass_the_lint() -> None:
    linted = squawk(*sorted(MIGRATIONS_DIR.glob("*.sql")))
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_an_index_built_without_concurrently_on_an_existing_table_fails(tmp_path: Path) -> None:
    migration = tmp_path / "0099.threads-by-name.sql"
    migration.write_text(
        "-- depends: 0004.conversations\n\nSET LOCAL lock_timeout = '5s';\n\n"
        "CREATE INDEX threads_name_idx ON threads (name);\n"
    )
    linted = squawk(migration)
    assert linted.returncode != 0
    assert "require-concurrent-index-creation" in linted.stdout


def test_a_migration_without_a_lock_timeout_fails(tmp_path: Path) -> None:
    migration = tmp_path / "0099.threads-topic.sql"
    migration.write_text("-- depends: 0004.conversations\n\nALTER TABLE threads ADD COLUMN topic text;\n")
    linted = squawk(migration)
    assert linted.returncode != 0
    assert "require-lock-timeout" in linted.stdout


def test_a_constraint_on_an_existing_table_must_be_added_not_valid(tmp_path: Path) -> None:
    migration = tmp_path / "0099.threads-name-length.sql"
    migration.write_text(
        "-- depends: 0004.conversations\n\nSET LOCAL lock_timeout = '5s';\n\n"
        "ALTER TABLE threads ADD CONSTRAINT threads_name_length_check CHECK (length(name) < 200);\n"
    )
    linted = squawk(migration)
    assert linted.returncode != 0
    assert "constraint-missing-not-valid" in linted.stdout
