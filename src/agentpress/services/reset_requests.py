"""The queue of password reset requests, worked through in the background: the account lookup, the token, the mail."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agentpress.repositories import password_resets
from agentpress.services.accounts import send_password_reset
from agentpress.services.polling import poll
from agentpress.settings import Settings

log = logging.getLogger("agentpress.reset_requests")

# Requests worked on per poll at most, so that a flood is spread out rather than taken in one go.
BATCH_SIZE = 50


async def process_password_reset_requests(conn: AsyncConnection[Any], settings: Settings) -> int:
    """Work on the queued requests, oldest first, each in its own transaction; how many were taken."""
    taken = 0
    for _ in range(BATCH_SIZE):
        async with conn.transaction():
            request = await password_resets.claim_password_reset_request(conn)
            if request is None:
                break
            try:
                async with conn.transaction():
                    await send_password_reset(conn, settings, request.email)
            except psycopg.OperationalError:
                raise  # the database went away: the claim rolls back, and the request is tried at the next poll
            except Exception:
                # Anything else would fail again at every poll, ahead of every later request: drop this one
                # (its user can ask again).
                log.exception("a password reset request failed and was dropped")
        taken += 1
    return taken


async def run_password_reset_loop(pool: AsyncConnectionPool[Any], settings: Settings) -> None:
    """Work through the queue every PASSWORD_RESET_POLL_SECONDS until cancelled (at once again after a full batch)."""

    async def work() -> bool:
        async with pool.connection() as conn:
            return await process_password_reset_requests(conn, settings) >= BATCH_SIZE

    await poll("password reset requests", work, every=settings.password_reset_poll_seconds, log=log)
