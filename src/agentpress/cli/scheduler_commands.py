"""`agentpress scheduler`: due schedules turned into tasks, against the database directly."""

from __future__ import annotations

import argparse

from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


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


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scheduler = commands.add_parser(
        "scheduler",
        help="turn due schedules into tasks every SCHEDULER_POLL_SECONDS, against the database directly",
        description="Safe next to the service's own loop and to other schedulers: an occurrence is fired once.",
    )
    scheduler.add_argument("--once", action="store_true", help="run one step (up to 100 schedules) and exit")
    scheduler.set_defaults(run=_scheduler)
