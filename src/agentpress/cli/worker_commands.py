"""`agentpress worker`: queued tasks run by a handler, against the database directly."""

from __future__ import annotations

import argparse
import os
import uuid

from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


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
            pgbouncer=settings.database_pooler == "pgbouncer",
            prepare=settings.database_prepare,
        )
    )
    print(f"{worker_id}: ran {claimed} task(s)")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
