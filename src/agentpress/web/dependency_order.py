"""Litestar's dependencies resolved one after another in the request's own task, not in a task group per batch."""

from __future__ import annotations

from typing import Any

from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import resolve_dependency
from litestar._kwargs.kwargs_model import KwargsModel
from litestar.connection import ASGIConnection


async def _resolve_in_order(
    self: KwargsModel, connection: ASGIConnection[Any, Any, Any, Any], kwargs: dict[str, Any]
) -> DependencyCleanupGroup:
    """KwargsModel.resolve_dependencies, but for a batch of several: Litestar starts an anyio task group and a
    task for each (`db`, `settings` and `cache` beside each other cost three tasks a request): 8-21% of the hot
    routes' CPU, measured in process A B A B (docs/benchmarks.md). Ours are a pool checkout and lookups in Redis
    or process memory: nothing gains from running side by side."""
    cleanup_group = DependencyCleanupGroup()
    for batch in self.dependency_batches:
        for dependency in batch:
            await resolve_dependency(dependency, connection, kwargs, cleanup_group)
    return cleanup_group


def resolve_dependencies_in_order() -> None:
    """Make every Litestar app in this process resolve dependencies in order (create_app calls it)."""
    KwargsModel.resolve_dependencies = _resolve_in_order  # type: ignore[method-assign]
