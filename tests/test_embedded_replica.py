"""`agentpress db start --replica`: a streaming hot standby of the embedded server for local use."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from test_embedded import cli

from agentpress.db import embedded

pytestmark = pytest.mark.skipif(
    not embedded.bin_path("pg_basebackup").exists(), reason="the embedded PostgreSQL wheel lacks pg_basebackup"
)


def test_db_start_replica_streams_from_the_embedded_server_and_stop_stops_both(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    try:
        started = cli("db", "start", "--replica", data_dir=data_dir)
        assert started.returncode == 0, started.stderr
        replica_url = started.stdout.strip()
        primary_url = cli("db", "url", data_dir=data_dir).stdout.strip()
        assert replica_url.startswith("postgresql://") and replica_url != primary_url
        with psycopg.connect(primary_url, autocommit=True) as primary:
            primary.execute("CREATE TABLE written_on_the_primary (id integer)")
            primary.execute("INSERT INTO written_on_the_primary VALUES (1)")
        with psycopg.connect(replica_url, autocommit=True) as replica:
            assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            deadline = time.monotonic() + 60
            while replica.execute("SELECT to_regclass('written_on_the_primary')").fetchone() == (None,):
                assert time.monotonic() < deadline, "the standby did not replay the primary's table"
                time.sleep(0.05)
            assert replica.execute("SELECT id FROM written_on_the_primary").fetchall() == [(1,)]
            assert replica.execute("SHOW hot_standby_feedback").fetchone() == ("on",)
        # A second start finds both running and prints the same URL.
        assert cli("db", "start", "--replica", data_dir=data_dir).stdout.strip() == replica_url
        assert cli("db", "stop", data_dir=data_dir).stdout.strip() == "stopped"
        assert not embedded.is_running(data_dir / "postgres-replica")
        assert not embedded.is_running(data_dir / "postgres")
    finally:
        cli("db", "stop", data_dir=data_dir)
