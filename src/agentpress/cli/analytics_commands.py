"""`agentpress analytics refresh`: the analytics rollups of every org, or of one."""

from __future__ import annotations

import argparse
import sys

from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
