"""The `agentpress` command: serve the API, migrate the schema, run the embedded database."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from agentpress.db import embedded, migrations
from agentpress.db.pools import resolve_database_url
from agentpress.settings import ConfigError, Settings, load_settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from agentpress.web.app import create_app

    # The app logs each request itself, as JSON; uvicorn's access log would say it twice.
    uvicorn.run(
        lambda: create_app(settings),
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=False,
        log_config=None,
    )
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "new":
        forward, backward = migrations.new_migration(args.name)
        print(f"wrote {forward} and {backward}")
        return 0
    url = resolve_database_url(settings)
    if args.action == "apply":
        applied = migrations.apply(url)
        print("\n".join(f"applied {m}" for m in applied) or "nothing to apply")
    elif args.action == "rollback":
        rolled_back = migrations.rollback(url, count=None if args.all else 1)
        print("\n".join(f"rolled back {m}" for m in rolled_back) or "nothing to roll back")
    elif args.action == "reset":
        if not args.force:
            print("refusing to drop every table without --force (make db-reset FORCE=1)", file=sys.stderr)
            return 2
        for migration_id in migrations.rollback(url, count=None):
            print(f"rolled back {migration_id}")
        for migration_id in migrations.apply(url):
            print(f"applied {migration_id}")
    else:
        for status in migrations.status(url):
            print(f"{'applied' if status.is_applied else 'pending':8} {status.migration_id}")
    return 0


def _db(settings: Settings, args: argparse.Namespace) -> int:
    pgdata = embedded.pgdata_dir(settings)
    if args.action == "shell":
        url = resolve_database_url(settings)
        psql = str(embedded.bin_path("psql"))
        os.execv(psql, [psql, url])
    if args.action == "schema":
        return _db_schema(resolve_database_url(settings), check=args.check)
    if args.action == "top":
        return _db_top(resolve_database_url(settings), limit=args.limit)
    if args.action == "catalog":
        return _db_catalog(resolve_database_url(settings), check=args.check)
    if settings.database_url and args.action != "url":
        print("DATABASE_URL is set: the embedded server is not used", file=sys.stderr)
        return 2
    if args.action == "start":
        print(embedded.start(pgdata))
    elif args.action == "stop":
        print("stopped" if embedded.stop(pgdata) else "not running")
    elif args.action == "url":
        print(resolve_database_url(settings))
    else:
        running_url = embedded.url_if_running(pgdata)
        print(f"running at {running_url} (data in {pgdata})" if running_url else f"not running (data in {pgdata})")
        return 0 if running_url else 1
    return 0


def _db_schema(url: str, *, check: bool) -> int:
    import psycopg

    from agentpress.db import schema

    try:
        found = schema.check_snapshot(url) if check else ""
        written = False if check else schema.write_snapshot(url)
    except (schema.SchemaDumpError, psycopg.Error) as exc:
        # Building the scratch database needs CREATEDB on the server; pg_dump's own words otherwise.
        print(f"agentpress: could not build the schema from the migrations: {exc}", file=sys.stderr)
        return 2
    if found:
        print(found, end="")
        print(f"agentpress: {schema.SNAPSHOT} differs from the migrations: run `make schema`", file=sys.stderr)
        return 1
    print(f"wrote {schema.SNAPSHOT}" if written else f"{schema.SNAPSHOT} is up to date")
    return 0


def _db_catalog(url: str, *, check: bool) -> int:
    import asyncio

    import psycopg

    from agentpress.db import catalogue, schema
    from agentpress.db.queries import queries

    async def build(scratch: str) -> str:
        async with await psycopg.AsyncConnection.connect(scratch, autocommit=True) as conn:
            return await catalogue.catalogue(conn, queries)

    try:
        with schema.scratch_database(url) as scratch:
            migrations.apply(scratch)
            written = asyncio.run(build(scratch))
    except (ValueError, psycopg.Error) as exc:
        print(f"agentpress: could not describe the queries: {exc}", file=sys.stderr)
        return 2
    current = catalogue.CATALOGUE.read_text() if catalogue.CATALOGUE.exists() else ""
    if check:
        if written != current:
            print(f"agentpress: {catalogue.CATALOGUE} is out of date: run `make sql-catalog`", file=sys.stderr)
            return 1
        print(f"{catalogue.CATALOGUE} is up to date")
        return 0
    catalogue.CATALOGUE.parent.mkdir(parents=True, exist_ok=True)
    catalogue.CATALOGUE.write_text(written)
    print(f"wrote {catalogue.CATALOGUE}")
    return 0


def _db_top(url: str, *, limit: int) -> int:
    import asyncio

    import psycopg

    from agentpress.db.queries import queries
    from agentpress.db.querystats import format_top, query_names
    from agentpress.models.statements import TopStatement
    from agentpress.repositories import statements

    if limit < 1:
        print("agentpress: --limit must be at least 1", file=sys.stderr)
        return 2

    async def run() -> list[TopStatement]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await statements.list_top_statements(conn, limit=limit)

    try:
        top = asyncio.run(run())
    except psycopg.errors.UndefinedTable:
        print(
            "agentpress: pg_stat_statements is not installed in this database: apply the migrations "
            "(`make db-migrate`; creating the extension needs a superuser where it is not there yet)",
            file=sys.stderr,
        )
        return 2
    except psycopg.errors.ObjectNotInPrerequisiteState:
        print(
            "agentpress: pg_stat_statements is not loaded by this server: set shared_preload_libraries = "
            "'pg_stat_statements' and restart it (the embedded server does this itself)",
            file=sys.stderr,
        )
        return 2
    print(format_top(top, query_names(queries)))
    return 0


def _kb(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from agentpress.services.ingest import LineError, ingest_lines

    path = Path(args.file)
    if not path.is_file():
        print(f"agentpress: {path}: no such file", file=sys.stderr)
        return 2
    try:
        with path.open("rb") as lines:
            summary = asyncio.run(ingest_lines(resolve_database_url(settings), lines, total_bytes=path.stat().st_size))
    except LineError as exc:
        print(f"agentpress: {path}: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0


def _scheduler(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from agentpress.db.pools import create_main_pool
    from agentpress.services.scheduler import run_scheduler_loop, step

    async def run() -> None:
        async with create_main_pool(settings, resolve_database_url(settings)) as pool:
            if args.once:
                async with pool.connection() as conn:
                    fired = await step(
                        conn,
                        min_interval_seconds=settings.schedule_min_interval_seconds,
                        max_queued=settings.max_queued_tasks_per_org,
                    )
                    print(f"queued {fired} task(s)")
            else:
                await run_scheduler_loop(pool, settings)

    # Ctrl-C stops the loop between steps or inside one: a step's transaction then rolls back.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio
    import socket

    from agentpress.services.worker import echo, load_handler, run_worker

    handler = load_handler(args.handler) if args.handler else echo
    worker_id = args.worker_id or f"{socket.gethostname()}-{os.getpid()}"
    claimed = asyncio.run(
        run_worker(
            resolve_database_url(settings),
            worker_id=worker_id,
            handler=handler,
            agent_ids=args.agent_id,
            concurrency=args.concurrency,
            lease_seconds=args.lease_seconds,
            max_tasks=args.max_tasks,
            once=args.once,
        )
    )
    print(f"{worker_id}: ran {claimed} task(s)")
    return 0


def _analytics(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio
    from datetime import UTC, datetime

    import psycopg

    from agentpress.repositories import orgs
    from agentpress.services.reporting import Refreshed, refresh_org

    async def run() -> list[Refreshed] | None:
        async with await psycopg.AsyncConnection.connect(resolve_database_url(settings), autocommit=True) as conn:
            now = datetime.now(UTC)
            if args.org:
                org = await orgs.get_org_by_slug(conn, slug=args.org)
                if org is None:
                    return None
                return [await refresh_org(conn, org_id=org.id, now=now, recount_days=args.days, full=args.full)]
            org_ids = await orgs.list_org_ids(conn)
            return [await refresh_org(conn, org_id=i, now=now, recount_days=args.days, full=args.full) for i in org_ids]

    refreshed = asyncio.run(run())
    if refreshed is None:
        print(f"agentpress: no org has the slug {args.org!r}", file=sys.stderr)
        return 2
    for org in refreshed:
        print(f"{org.org_id}: rolled up {org.days} day(s) from {org.from_day} to {org.to_day}")
    print(f"refreshed {len(refreshed)} org(s)")
    return 0


def _config(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    import psycopg

    from agentpress.repositories import config, orgs
    from agentpress.services.crypto import encryptor
    from agentpress.services.desktop.layout import LayoutError, parse_tree, read_directory, write_directory
    from agentpress.services.desktop.sync import export_org, format_summary, import_tree

    directory = Path(args.dir).expanduser()
    if args.action == "import" and not directory.is_dir():
        print(f"agentpress: {directory}: no such directory", file=sys.stderr)
        return 2

    async def run() -> int:
        async with await psycopg.AsyncConnection.connect(resolve_database_url(settings), autocommit=True) as conn:
            org = await (orgs.get_org_by_slug(conn, slug=args.org) if args.org else config.get_default_org(conn))
            if org is None:
                missing = f"no org has the slug {args.org!r}" if args.org else "there is no default org"
                print(f"agentpress: {missing}", file=sys.stderr)
                return 2
            if args.action == "export":
                written = write_directory(directory, await export_org(conn, org_id=org.id))
                print(f"wrote {len(written)} file(s) of org {org.slug} to {directory} (API keys only by variable name)")
                return 0
            files, skipped = read_directory(directory)
            summary = await import_tree(
                conn,
                org_id=org.id,
                tree=parse_tree(files, skipped),
                encryptor=encryptor(settings),
                # The operator's own environment: api_key_env names where each provider's key is.
                environ=os.environ,
                actor=None,
                dry_run=args.dry_run,
            )
            print(format_summary(summary))
            return 0

    try:
        return asyncio.run(run())
    except LayoutError as exc:
        for problem in exc.problems:
            print(f"agentpress: {directory}/{problem}", file=sys.stderr)
        print("agentpress: nothing was imported", file=sys.stderr)
        return 2
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        print(f"agentpress: nothing was imported: {exc.diag.message_primary}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"agentpress: {exc}", file=sys.stderr)
        return 2


def _users(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    import psycopg
    from pydantic import ValidationError

    from agentpress.models.users import Register
    from agentpress.services.accounts import check_password_rules, create_account, create_admin
    from agentpress.services.crypto import configure_password_hashing, hash_password
    from agentpress.web.errors import ApiError

    password = _read_password()
    try:
        email = Register(email=args.email, password=password).email
        check_password_rules(password, settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        print(f"agentpress: {error['loc'][-1]}: {error['msg']}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"agentpress: {exc}", file=sys.stderr)
        return 2
    configure_password_hashing(settings)
    password_hash = hash_password(password)

    async def run() -> str:
        async with await psycopg.AsyncConnection.connect(resolve_database_url(settings), autocommit=True) as conn:
            # The operator vouches for the address: no verification mail.
            if args.admin:
                user = await create_admin(conn, settings, email=email, password_hash=password_hash)
            else:
                user = await create_account(
                    conn, settings, email=email, password_hash=password_hash, is_email_verified=True
                )
            return f"created {'platform admin' if args.admin else 'user'} {user.email} ({user.id})"

    try:
        print(asyncio.run(run()))
    except psycopg.errors.UniqueViolation:
        print(f"agentpress: {email} already has an account", file=sys.stderr)
        return 1
    return 0


def _secrets(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    import psycopg

    from agentpress.services.crypto import encryptor
    from agentpress.services.key_rotation import format_rotation, rotate_secrets

    async def run() -> int:
        async with await psycopg.AsyncConnection.connect(resolve_database_url(settings), autocommit=True) as conn:
            rotation = await rotate_secrets(conn, encryptor(settings))
        print(format_rotation(rotation))
        if rotation.unreadable:
            print(
                f"agentpress: {rotation.unreadable} value(s) decrypt with none of APP_SECRET_KEY and "
                "APP_PREVIOUS_SECRET_KEYS, or were copied from another row or column: they stay as they are, "
                "and the service treats them as unset",
                file=sys.stderr,
            )
            return 1
        return 0

    return asyncio.run(run())


def _read_password() -> str:
    """Asked twice at a terminal; otherwise the first line of standard input (for scripts)."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != password:
        raise ValueError("the passwords differ")
    return password


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentpress", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="default: HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: PORT or 8000")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply, roll back or list schema migrations")
    migrate_actions = migrate.add_subparsers(dest="action", required=True)
    migrate_actions.add_parser("apply", help="apply every pending migration")
    rollback = migrate_actions.add_parser("rollback", help="roll back the last applied migration")
    rollback.add_argument("--all", action="store_true", help="roll back every applied migration")
    migrate_actions.add_parser("status", help="list migrations, applied or pending")
    new = migrate_actions.add_parser("new", help="write a migration and its rollback from the template")
    new.add_argument("name", help="lower-case words joined by '-', e.g. add-threads")
    reset = migrate_actions.add_parser("reset", help="roll back every migration, then apply them all")
    reset.add_argument("--force", action="store_true", help="required: this drops every table")
    migrate.set_defaults(run=_migrate)

    db = commands.add_parser(
        "db",
        help="the embedded PostgreSQL server (when DATABASE_URL is unset), the schema snapshot, the top statements",
        description="start, stop, status: the embedded server. url, shell: the database in use (embedded or "
        "DATABASE_URL). schema: write sql/schema.sql from the migrations, applied to a scratch database on the "
        "server in use. catalog: write docs/queries.md, every named query described by that scratch database. "
        "top: the statements of the database with the most total execution time "
        "(pg_stat_statements), named queries under their names.",
    )
    db.add_argument("action", choices=["start", "stop", "status", "url", "shell", "schema", "catalog", "top"])
    db.add_argument(
        "--check",
        action="store_true",
        help="schema, catalog: exit 1 when sql/schema.sql (with its diff) or docs/queries.md is not current",
    )
    db.add_argument("--limit", type=int, default=20, help="top: how many statements (default 20)")
    db.set_defaults(run=_db)

    kb = commands.add_parser("kb", help="knowledge bases: load chunks and their embeddings")
    kb_actions = kb.add_subparsers(dest="action", required=True)
    ingest = kb_actions.add_parser(
        "ingest",
        help="replace the chunks of every source in a JSONL file (one transaction per source)",
        description="Each line: {knowledge_base_id, source_kind, source_id, chunk_index, content, embedding, "
        "metadata?}; a source's lines must be consecutive. An invalid line stops the load (exit 2); the sources "
        "before it stay written, nothing of its own source is.",
    )
    ingest.add_argument("file", help="a .jsonl file")
    kb.set_defaults(run=_kb)

    scheduler = commands.add_parser(
        "scheduler",
        help="turn due schedules into tasks every SCHEDULER_POLL_SECONDS, against the database directly",
        description="Safe next to the service's own loop and to other schedulers: an occurrence is fired once.",
    )
    scheduler.add_argument("--once", action="store_true", help="run one step (up to 100 schedules) and exit")
    scheduler.set_defaults(run=_scheduler)

    worker = commands.add_parser(
        "worker",
        help="run tasks of every org from the queue, against the database directly",
        description="Claims due tasks (and ones whose lease expired), runs the handler on each while extending its "
        "lease, then completes it, or fails it (retried with backoff) when the handler raises. SIGINT or SIGTERM "
        "stops claiming and waits for the tasks in hand.",
    )
    worker.add_argument("--worker-id", help="the name leases are held in; default: <hostname>-<pid>")
    worker.add_argument("--agent-id", action="append", type=uuid.UUID, help="only this agent's tasks (repeatable)")
    worker.add_argument("--concurrency", type=int, default=1, help="tasks run at once (default 1)")
    worker.add_argument(
        "--lease-seconds", type=int, default=300, help="lease length, renewed every third (default 300)"
    )
    worker.add_argument(
        "--handler", help="module:function, an async function from the task to its output dict; default: echo the input"
    )
    worker.add_argument("--max-tasks", type=int, help="stop after claiming this many tasks")
    worker.add_argument("--once", action="store_true", help="stop when no task is due")
    worker.set_defaults(run=_worker)

    analytics = commands.add_parser("analytics", help="analytics rollups")
    analytics_actions = analytics.add_subparsers(dest="action", required=True)
    refresh = analytics_actions.add_parser(
        "refresh",
        help="roll up the closed days (UTC) of every org, or of one, against the database directly",
        description="Rolls up each org's days from where its rollup ends (from its first thread or task the first "
        "time) to yesterday, and counts the last --days it held again. Reports count the days after the rollup "
        "live, so this makes them faster, never different. Safe next to the service's own loop.",
    )
    refresh.add_argument("--org", help="only the org with this slug")
    refresh.add_argument("--days", type=int, default=1, help="closed days to count again (default 1)")
    refresh.add_argument("--full", action="store_true", help="rebuild from the org's first activity")
    analytics.set_defaults(run=_analytics)

    config = commands.add_parser(
        "config",
        help="an org's agents, providers, models and channels as the desktop's YAML files",
        description="The layout: agents/<agent-id>/config.yaml, providers/<name>.yaml, models.yaml, channels.yaml. "
        "Files never hold API keys, only the environment variable that does (api_key_env).",
    )
    config_actions = config.add_subparsers(dest="action", required=True)
    export = config_actions.add_parser(
        "export",
        help="write the org's configuration into DIR (created if needed; other files there are left alone)",
    )
    export.add_argument("dir", help="the folder, e.g. ~/.viben")
    export.add_argument("--org", help="the org's slug (default: the default org)")
    config_import = config_actions.add_parser(
        "import",
        help="create what is new and update what changed, in one transaction, and print what was done",
        description="Agents are matched by id, providers and channels by name, models by provider and id; nothing "
        "is deleted. An API key is read from the variable its provider's api_key_env names; when that is unset, "
        "the provider keeps its stored key. Desktop session history and telemetry are not imported.",
    )
    config_import.add_argument("dir", help="the folder, e.g. ~/.viben")
    config_import.add_argument("--org", help="the org's slug (default: the default org)")
    config_import.add_argument("--dry-run", action="store_true", help="check and print the plan; change nothing")
    config.set_defaults(run=_config)

    users = commands.add_parser("users", help="user accounts")
    users_actions = users.add_subparsers(dest="action", required=True)
    create = users_actions.add_parser(
        "create",
        help="create a user (with --admin, a platform admin): the first admin of an install comes from here",
        description="The password is asked for at a terminal, otherwise read from the first line of standard "
        "input. The user gets an org of their own, or joins SIGNUP_ORG (an admin as its owner).",
    )
    create.add_argument("email")
    create.add_argument("--admin", action="store_true", help="make the user a platform admin")
    users.set_defaults(run=_users)

    secrets = commands.add_parser("secrets", help="secrets stored encrypted (provider keys, OAuth tokens, mail)")
    secrets_actions = secrets.add_subparsers(dest="action", required=True)
    secrets_actions.add_parser(
        "rotate",
        help="re-encrypt every stored secret under APP_SECRET_KEY, bound to its row",
        description="Decrypts with APP_SECRET_KEY or any of APP_PREVIOUS_SECRET_KEYS, and writes each value back "
        "under APP_SECRET_KEY, bound to its table, column and row. Safe while the service runs; once it reports "
        "nothing unreadable, APP_PREVIOUS_SECRET_KEYS can be removed.",
    )
    secrets.set_defaults(run=_secrets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[Settings, argparse.Namespace], int] = args.run
    try:
        settings = load_settings()
        return run(settings, args)
    except (ConfigError, ValueError) as exc:
        print(f"agentpress: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
