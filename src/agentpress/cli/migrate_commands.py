"""`agentpress migrate`: apply, roll back, list, reset and write the schema migrations."""

from __future__ import annotations

import argparse
import sys

from agentpress.db import migrations
from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
