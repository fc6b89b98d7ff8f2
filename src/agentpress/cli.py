"""The `agentpress` command: serve the API, migrate the schema, run the embedded database."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from agentpress import embedded, migrations
from agentpress.config import ConfigError, Settings, load_settings
from agentpress.database import resolve_database_url


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from agentpress.app import create_app

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


def _kb(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from agentpress.ingest import LineError, ingest_lines

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

    db = commands.add_parser("db", help="the embedded PostgreSQL server (when DATABASE_URL is unset)")
    db.add_argument("action", choices=["start", "stop", "status", "url", "shell"])
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
