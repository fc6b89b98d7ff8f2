"""The `agentpress` command: serve the API, migrate the schema, run the embedded database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from agentpress.cli import (
    analytics_commands,
    config_commands,
    db_commands,
    kb_commands,
    migrate_commands,
    redis_commands,
    scheduler_commands,
    secrets_commands,
    serve_commands,
    users_commands,
    worker_commands,
)
from agentpress.settings import ConfigError, Settings, load_settings

# In the order `agentpress --help` lists them.
GROUPS = (
    serve_commands,
    migrate_commands,
    db_commands,
    redis_commands,
    kb_commands,
    scheduler_commands,
    worker_commands,
    analytics_commands,
    config_commands,
    users_commands,
    secrets_commands,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentpress", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
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
