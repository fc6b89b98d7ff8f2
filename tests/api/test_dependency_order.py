"""Dependencies resolve in the request's own task, one after another (web/dependency_order.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from litestar import get
from litestar.di import NamedDependency, Provide
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app


async def first_task() -> str:
    return asyncio.current_task().get_name()  # type: ignore[union-attr]


async def second_task() -> str:
    return asyncio.current_task().get_name()  # type: ignore[union-attr]


@get(
    "/test/dependency-tasks",
    dependencies={"first": Provide(first_task), "second": Provide(second_task)},
)
async def dependency_tasks(first: NamedDependency[str], second: NamedDependency[str]) -> dict[str, str]:
    return {"handler": asyncio.current_task().get_name(), "first": first, "second": second}  # type: ignore[union-attr]


def test_a_batch_of_dependencies_runs_in_the_requests_task(make_settings: Callable[..., Settings]) -> None:
    # Two dependencies of one batch: Litestar's own resolution gave each a task of its own in a task group.
    with TestClient(app=create_app(make_settings(), route_handlers=[dependency_tasks])) as client:
        answer = client.get("/test/dependency-tasks")
    assert answer.status_code == 200, answer.text
    tasks = answer.json()
    assert tasks["first"] == tasks["second"] == tasks["handler"]
