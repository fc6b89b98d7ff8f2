"""The embedded server with DATABASE_URL unset: started on demand, kept across runs, stopped on request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "agentpress.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_db_start_status_migrate_stop_and_data_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    try:
        started = cli("db", "start", data_dir=data_dir)
        assert started.returncode == 0, started.stderr
        assert started.stdout.startswith("postgresql://postgres:@/agentpress?host=")
        assert (data_dir / "postgres" / "PG_VERSION").read_text().strip() == "18"
        assert cli("db", "status", data_dir=data_dir).stdout.startswith("running at postgresql://")
        assert "applied 0001.extensions" in cli("migrate", "apply", data_dir=data_dir).stdout
        assert cli("db", "stop", data_dir=data_dir).stdout.strip() == "stopped"
        status = cli("db", "status", data_dir=data_dir)
        assert (status.returncode, status.stdout.startswith("not running")) == (1, True)
        # Started again by the next command that needs it, with the data kept.
        assert "applied  0001.extensions" in cli("migrate", "status", data_dir=data_dir).stdout
    finally:
        cli("db", "stop", data_dir=data_dir)
