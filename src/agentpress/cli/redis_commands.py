"""`agentpress redis`: the local Redis that caches beside the embedded database when REDIS_URL is unset."""

from __future__ import annotations

import argparse
import sys

from agentpress.db import embedded_redis
from agentpress.settings import Settings


def _redis(settings: Settings, args: argparse.Namespace) -> int:
    if settings.redis_url is not None:
        print("REDIS_URL is set (a Redis, or off): the local Redis is not used", file=sys.stderr)
        return 2
    directory = embedded_redis.redis_dir(settings)
    if args.action == "start":
        print(embedded_redis.start(directory))
    elif args.action == "stop":
        print("stopped" if embedded_redis.stop(directory) else "not running")
    else:
        running_url = embedded_redis.url_if_running(directory)
        print(f"running at {running_url} (in {directory})" if running_url else f"not running (in {directory})")
        return 0 if running_url else 1
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    redis = commands.add_parser(
        "redis",
        help="the local Redis (when REDIS_URL and DATABASE_URL are unset)",
        description="start, stop, status: the local Redis that caches beside the embedded PostgreSQL when REDIS_URL "
        f"is unset: redis-server from the `{embedded_redis.EXTRA}` extra, on a Unix socket in DATA_DIR/redis, "
        f"nothing saved to disk, at most {embedded_redis.MAXMEMORY} ({embedded_redis.EVICTION_POLICY} past it). "
        "`agentpress serve` starts it and leaves it running.",
    )
    redis.add_argument("action", choices=["start", "stop", "status"])
    redis.set_defaults(run=_redis)
