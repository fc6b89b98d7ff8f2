"""`agentpress config export|import`: an org's configuration as the desktop's YAML files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
