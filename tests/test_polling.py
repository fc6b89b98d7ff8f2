"""The background loops' one shape: a step, then a wait; outages waited out, bugs logged, more done at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
import pytest

from agentpress.services.polling import Step, poll

pytestmark = pytest.mark.anyio
log = logging.getLogger("agentpress.test_polling")


async def run_until(step: Step, done: asyncio.Event, *, every: float) -> None:
    """Run the loop until `done` is set (at most 10 s), then cancel it as the lifespan does."""
    task = asyncio.create_task(poll("test step", step, every=every, log=log))
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def steps(*outcomes: bool | Exception) -> tuple[Step, asyncio.Event]:
    """A step that raises or returns each outcome in turn, then sets the event."""
    done, remaining = asyncio.Event(), iter(outcomes)

    async def step() -> bool:
        outcome = next(remaining, None)
        if outcome is None:
            done.set()
            return False
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return step, done


async def test_a_loop_outlives_an_outage_and_a_bug_and_says_which(caplog: pytest.LogCaptureFixture) -> None:
    step, done = steps(psycopg.OperationalError("server closed the connection"), ValueError("a bug"))
    with caplog.at_level(logging.WARNING, logger=log.name):
        await run_until(step, done, every=0.01)
    outage, bug = caplog.records
    assert (outage.levelname, outage.getMessage()) == ("WARNING", "test step skipped: server closed the connection")
    assert (bug.levelname, bug.getMessage()) == ("ERROR", "test step failed")
    assert bug.exc_info is not None


async def test_a_step_with_more_to_do_runs_again_without_waiting() -> None:
    # An hour between steps: the loop reaches its third step only if it does not wait after the first two.
    step, done = steps(True, True)
    await run_until(step, done, every=3600)
    assert done.is_set()


async def test_a_cancellation_a_library_swallowed_during_the_step_still_ends_the_loop() -> None:
    # As Python 3.11's asyncio.wait_for does when the awaited result lands with the cancel (psycopg_pool waits for a
    # connection that way): the step returns normally, the task is still being cancelled, and the loop must not go on
    # to sleep. It did, for up to an hour here, and every shutdown waited SHUTDOWN_SECONDS for it.
    started = asyncio.Event()

    async def step() -> bool:
        started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        return False

    task = asyncio.create_task(poll("test step", step, every=3600, log=log))
    await started.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=5)
    assert task in done and task.cancelled()
