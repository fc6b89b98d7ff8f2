"""`agentpress db`: the embedded server, the database in use, the schema snapshot, the catalogue, the top statements."""

from __future__ import annotations

import argparse
import os
import sys

from agentpress.db import embedded, migrations
from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


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
        print(embedded.start_replica(pgdata) if args.replica else embedded.start(pgdata))
    elif args.action == "stop":
        # The standby first: stopped after its primary, it would retry the connection until stopped.
        replica_stopped = embedded.stop(embedded.replica_dir(pgdata))
        print("stopped" if embedded.stop(pgdata) or replica_stopped else "not running")
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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    db.add_argument(
        "--replica",
        action="store_true",
        help="start: start a streaming hot standby of the embedded server too (made with pg_basebackup -R in "
        "DATA_DIR/postgres-replica on first use) and print its URL, for ANALYTICS_DATABASE_URL; stop stops both",
    )
    db.set_defaults(run=_db)
