"""`agentpress secrets rotate`: every stored secret re-encrypted under APP_SECRET_KEY."""

from __future__ import annotations

import argparse
import sys

from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
