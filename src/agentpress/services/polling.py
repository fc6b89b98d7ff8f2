"""The service's background loops, one shape for all: a step, then a wait; outages waited out, bugs logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg
from psycopg_pool import PoolTimeout

Step = Callable[[], Awaitable[bool]]
"""One round of a loop's work; True when there is more to do at once (a full batch), False to wait."""


async def poll(name: str, step: Step, *, every: float, log: logging.Logger) -> None:
    """Run `step` every `every` seconds until cancelled, at once again while it says there is more.

    A database outage (or no pool connection in time) is a warning and waited out; any other error is logged
    with its traceback. The loop outlives both: work that stops for good (mail never sent, a schedule that
    never fires) is worse than a logged error, and each step's work is safe to repeat.
    """
    while True:
        more = False
        try:
            more = await step()
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("%s skipped: %s", name, exc)
        except Exception:
            log.exception("%s failed", name)
        # A cancellation that a library swallowed during the step still ends the loop: Python 3.11's
        # asyncio.wait_for drops one that lands with the result it waited for (psycopg_pool waits for a connection
        # that way), and the loop then slept through the shutdown's SHUTDOWN_SECONDS.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        if not more:
            await asyncio.sleep(every)
