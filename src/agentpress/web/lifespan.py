"""What the service opens at startup and shares with requests: pools, Redis, the migrations check."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import psycopg
from litestar import Litestar
from litestar.datastructures import State
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from agentpress.db import migrations
from agentpress.db.embedded_redis import resolve_redis_url
from agentpress.db.pools import create_analytics_pool, create_main_pool, resolve_database_url
from agentpress.repositories import system
from agentpress.services.accounts import SignupOrgMissing, bootstrap_accounts
from agentpress.services.election import Leader
from agentpress.services.embedder import EmbeddingsClient, create_client, run_embedding_loop
from agentpress.services.idempotency import run_purge_loop
from agentpress.services.ingest import CHUNKS_BODY_LIMIT, max_chunks_body_bytes
from agentpress.services.mail import run_outbox_loop
from agentpress.services.oauth_providers import create_http_client
from agentpress.services.passwords import PasswordWork
from agentpress.services.rate_counters import RateLimiter
from agentpress.services.reporting import run_refresh_loop
from agentpress.services.reset_requests import run_password_reset_loop
from agentpress.services.scheduler import run_scheduler_loop
from agentpress.settings import Settings
from agentpress.web.cache import AUTH_EPOCH_KEY, KEY_PREFIX, Cache, connect_redis
from agentpress.web.local_cache import LocalLayer, run_invalidation_listener

log = logging.getLogger("agentpress")
SHUTDOWN_SECONDS = 5
Pool = AsyncConnectionPool[AsyncConnection[Any]]


class StartupError(Exception):
    """The service cannot start; the message says what to do."""


@dataclass
class Resources:
    """What the lifespan opens and the requests share."""

    settings: Settings
    pool: Pool
    analytics_pool: Pool
    redis: Redis | None
    cache: Cache
    limiter: RateLimiter
    passwords: PasswordWork
    # One HTTP client per third party, kept for the process: connections are reused and bounded.
    embeddings: EmbeddingsClient | None
    oauth_http: httpx.AsyncClient


async def pending_migrations(pool: Pool) -> list[str]:
    """Migrations in migrations/ that the database has not applied."""
    async with pool.connection() as conn:
        try:
            applied = {row.migration_id for row in await system.list_applied_migrations(conn)}
        except psycopg.errors.UndefinedTable:
            applied = set()
    return [migration_id for migration_id in migrations.migration_ids() if migration_id not in applied]


async def _open_pools(settings: Settings) -> tuple[Pool, Pool]:
    url = await anyio.to_thread.run_sync(resolve_database_url, settings)
    if settings.auto_migrate:
        applied = await anyio.to_thread.run_sync(migrations.apply, url)
        log.info("migrations applied", extra={"applied": applied})
    pool, analytics_pool = create_main_pool(settings, url), create_analytics_pool(settings, url)
    try:
        await pool.open(wait=True, timeout=max(settings.pool_timeout, 10.0))
    except psycopg.Error as exc:
        await pool.close()
        raise StartupError(f"database unreachable: {exc}") from exc
    # The analytics pool may point at a replica; reports wait for it, startup does not.
    await analytics_pool.open(wait=False)
    return pool, analytics_pool


async def _redis_url(settings: Settings) -> str | None:
    # Unset with the embedded database: the local Redis, started here unless `serve` started it before forking.
    url: str | None = await anyio.to_thread.run_sync(resolve_redis_url, settings)
    if url is None:
        log.info("REDIS_URL is off: caching is off")
    return url


def _check_chunk_limits(settings: Settings) -> None:
    """PUT .../chunks has its body limit fixed when its routes are declared, from MAX_CHUNKS_PER_REQUEST's
    default: a higher setting works only as far as its chunks fit, so say so rather than fail mysteriously."""
    if max_chunks_body_bytes(settings.max_chunks_per_request) > CHUNKS_BODY_LIMIT:
        log.warning(
            "MAX_CHUNKS_PER_REQUEST=%d is above what the chunk routes' body limit (%d bytes) is sized for: "
            "requests of that many chunks at full precision get 413; load them with `agentpress kb ingest`",
            settings.max_chunks_per_request,
            CHUNKS_BODY_LIMIT,
        )


async def _direct_url(settings: Settings) -> str:
    """Where the leader election connects: DIRECT_DATABASE_URL, bypassing a pooler, or the main database."""
    if settings.direct_database_url is not None:
        return settings.direct_database_url
    url: str = await anyio.to_thread.run_sync(resolve_database_url, settings)
    return url


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    pool, analytics_pool = await _open_pools(settings)
    redis, mailer, resets, embedder, scheduler, rollups = None, None, None, None, None, None
    purge, listener = None, None
    embeddings, oauth_http = create_client(settings), create_http_client()
    try:
        pending = await pending_migrations(pool)
        if pending:
            raise StartupError(
                f"the database has {len(pending)} pending migration(s) ({', '.join(pending)}): "
                "run `make db-migrate`, or start with AUTO_MIGRATE=1"
            )
        try:
            await bootstrap_accounts(pool, settings)
        except SignupOrgMissing as exc:
            raise StartupError(f"{exc}: create it, or unset SIGNUP_ORG to give each new user an org") from None
        redis_url = await _redis_url(settings)
        redis = None if redis_url is None else connect_redis(redis_url, settings.redis_timeout_ms)
        local = None
        if redis_url is not None and settings.local_cache_seconds > 0:
            local = LocalLayer(settings.local_cache_seconds)
            # A connection of its own, to which Redis announces key changes (web/local_cache.py).
            listener = asyncio.create_task(
                run_invalidation_listener(redis_url, local, prefix=KEY_PREFIX, epoch_key=AUTH_EPOCH_KEY)
            )
        app.state.resources = Resources(
            settings=settings,
            pool=pool,
            analytics_pool=analytics_pool,
            redis=redis,
            cache=Cache(redis, local),
            limiter=RateLimiter(redis),
            passwords=PasswordWork(settings.password_hash_concurrency, settings.password_hash_queue),
            embeddings=embeddings,
            oauth_http=oauth_http,
        )
        _check_chunk_limits(settings)
        mailer = asyncio.create_task(run_outbox_loop(pool, settings))
        resets = asyncio.create_task(run_password_reset_loop(pool, settings))
        # In every process, like the two above: each pass deletes a bounded batch, skipping rows another holds.
        purge = asyncio.create_task(run_purge_loop(pool))
        if embeddings is not None:
            embedder = asyncio.create_task(run_embedding_loop(pool, embeddings, settings))
        else:
            log.info("EMBEDDINGS_URL is unset: the service embeds nothing itself")
        if settings.scheduler_enabled:
            scheduler = asyncio.create_task(run_scheduler_loop(pool, settings))
        else:
            log.info("SCHEDULER_ENABLED is off: schedules fire only where `agentpress scheduler` runs")
        if settings.analytics_refresh_enabled:
            # Once per deployment, however many processes serve: the leader's loop alone rolls up.
            leader = Leader(
                "analytics refresh", await _direct_url(settings), every=settings.analytics_refresh_seconds, log=log
            )
            app.state.refresh_leader = leader
            rollups = asyncio.create_task(leader.lead(lambda: run_refresh_loop(pool, settings)))
        else:
            log.info("ANALYTICS_REFRESH_ENABLED is off: rollups grow only where `agentpress analytics refresh` runs")
        yield
    finally:
        loops = [task for task in (mailer, resets, purge, embedder, scheduler, rollups, listener) if task is not None]
        for task in loops:
            task.cancel()
        if loops:
            # Bounded: a loop stuck in a call that ignores cancellation must not hang the shutdown.
            _, stuck = await asyncio.wait(loops, timeout=SHUTDOWN_SECONDS)
            for task in stuck:
                log.warning("background loop %s did not stop within %ss", task.get_coro(), SHUTDOWN_SECONDS)
        if redis is not None:
            await redis.aclose()
        if embeddings is not None:
            await embeddings.aclose()
        await oauth_http.aclose()
        await analytics_pool.close()
        await pool.close()


def resources(state: State) -> Resources:
    found: Resources = state.resources
    return found
