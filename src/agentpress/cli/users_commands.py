"""`agentpress users create`: user accounts and platform admins; the password from a terminal or stdin."""

from __future__ import annotations

import argparse
import sys

from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


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


def _read_password() -> str:
    """Asked twice at a terminal; otherwise the first line of standard input (for scripts)."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat it: ") != password:
        raise ValueError("the passwords differ")
    return password


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
