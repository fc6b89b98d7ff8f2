"""Tasks: queue an agent's run, follow and cancel it; and the worker queue over REST (claim, heartbeat, finish).

Members see and cancel the tasks they created, owners and admins every task of the org. The queue routes take
an org API key with the tasks:work scope, or a signed-in owner or admin (a worker run by hand).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from psycopg import AsyncConnection

from agentpress.models.tasks import (
    ClaimedTask,
    Task,
    TaskClaim,
    TaskComplete,
    TaskCreate,
    TaskFail,
    TaskHeartbeat,
    TaskStatus,
)
from agentpress.repositories import tasks, threads
from agentpress.web.access import Caller, CallerDep, Org, OrgContext
from agentpress.web.dependencies import AppSettings, Conn
from agentpress.web.errors import ApiError, FieldError, field_error, not_found
from agentpress.web.idempotent import idempotent
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset

TASK_PATH = "/{task_id:uuid}"


def _creator_filter(org: OrgContext) -> UUID | None:
    """Whose tasks the caller sees: members their own; owners and admins (platform admins too) everyone's."""
    return None if org.can_manage else org.user.id


def _require_worker(caller: Caller) -> None:
    """The queue: an org API key with tasks:work, or a signed-in owner or admin."""
    if caller.org is not None:
        caller.org.require_manager()
    caller.require_scope("tasks:work")


async def _refused(
    conn: AsyncConnection[Any], org_id: UUID, task_id: UUID, action: str, created_by: UUID | None = None
) -> ApiError:
    """Why a conditional transition matched no row: 404 when the org has no such task (or the caller may not see
    it), else 409 with its status."""
    task = await tasks.get_task(conn, org_id=org_id, task_id=task_id)
    if task is None or (created_by is not None and task.created_by != created_by):
        return not_found("task")
    if task.status == "running":
        return ApiError(409, "conflict", f"cannot {action} the task: this worker no longer holds its lease")
    return ApiError(409, "conflict", f"cannot {action} the task: it is {task.status}")


class TasksController(Controller):
    path = "/tasks"
    tags = ["tasks"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get(
        "/",
        operation_id="list_tasks",
        summary="The org's tasks (a member's own; all for owners and admins), newest first, optionally by status, "
        "agent, schedule",
    )
    async def list_tasks(
        self,
        conn: Conn,
        org: Org,
        status: FromQuery[TaskStatus | None] = None,
        agent_id: FromQuery[UUID | None] = None,
        schedule_id: FromQuery[UUID | None] = None,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[Task]:
        items, total = await tasks.list_tasks(
            conn,
            org_id=org.org_id,
            status=status,
            agent_id=agent_id,
            schedule_id=schedule_id,
            created_by=_creator_filter(org),
            limit=page_size,
            offset=offset(page, page_size),
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post(
        "/",
        operation_id="create_task",
        summary="Queue a run of one of the org's agents (members), optionally on one of my threads (any thread of "
        "the org for owners and admins); a priority above TASK_MEMBER_MAX_PRIORITY is for owners and admins (422), "
        "and an org with MAX_QUEUED_TASKS_PER_ORG queued tasks gets a 409",
        **idempotent(),
    )
    async def create_task(self, conn: Conn, org: Org, settings: AppSettings, data: JSONBody[TaskCreate]) -> Task:
        org.require_writer()
        cap = settings.task_member_max_priority
        if data.priority > cap and not org.can_manage:
            # Priority orders an org's own tasks (claims are fair across orgs): a member may not jump the
            # queue of their colleagues past the cap, owners and admins may.
            raise field_error(
                422, "invalid_value", "priority", f"may be at most {cap} (TASK_MEMBER_MAX_PRIORITY) for members"
            )
        # The task's run writes to the thread (with the runtime's API key): a member may only name their own.
        if (
            data.thread_id is not None
            and not org.can_manage
            and await threads.get_thread(conn, org_id=org.org_id, user_id=org.user.id, thread_id=data.thread_id) is None
        ):
            raise field_error(422, "invalid_value", "thread_id", "is not one of your threads in the org")
        # An agent or thread of another org fails tasks_agent_id_fkey / tasks_thread_id_fkey: 422 naming the field.
        task = await tasks.create_task(
            conn,
            org_id=org.org_id,
            agent_id=data.agent_id,
            thread_id=data.thread_id,
            input=data.input,
            priority=data.priority,
            max_attempts=data.max_attempts,
            run_after=data.run_after,
            created_by=org.user.id,
            max_queued=settings.max_queued_tasks_per_org,
        )
        if task is None:
            # 409, not 429: the queue is full until the org's tasks run or are cancelled, not until a time passes.
            limit = settings.max_queued_tasks_per_org
            raise ApiError(
                409,
                "queue_full",
                f"the org already has {limit} queued tasks (MAX_QUEUED_TASKS_PER_ORG): wait for them to run "
                "or cancel some",
                [FieldError(field="max_queued_tasks_per_org", message=f"at most {limit} queued tasks per org")],
            )
        return task

    @post(
        "/claim",
        operation_id="claim_tasks",
        status_code=200,
        summary="Workers (an API key with tasks:work, or an owner or admin): take up to `limit` due tasks, ones "
        "whose lease expired first, then the highest priority and oldest; each is running under a new lease_token, "
        "shown only here, that heartbeat, complete and fail require",
    )
    async def claim_tasks(self, conn: Conn, caller: CallerDep, data: JSONBody[TaskClaim]) -> list[ClaimedTask]:
        _require_worker(caller)
        return await tasks.claim_tasks(
            conn,
            org_id=caller.org_id,
            worker_id=data.worker_id,
            agent_ids=data.agent_ids,
            limit=data.limit,
            lease_seconds=data.lease_seconds,
        )

    @get(TASK_PATH, operation_id="get_task", summary="A task of the org (members: one they created)")
    async def get_task(self, conn: Conn, org: Org, task_id: FromPath[UUID]) -> Task:
        task = await tasks.get_task(conn, org_id=org.org_id, task_id=task_id)
        creator = _creator_filter(org)
        if task is None or (creator is not None and task.created_by != creator):
            raise not_found("task")
        return task

    @post(
        f"{TASK_PATH}/cancel",
        operation_id="cancel_task",
        status_code=200,
        summary="Cancel a queued or running task (members: one they created; owners and admins: any); a finished "
        "one is a 409",
    )
    async def cancel_task(self, conn: Conn, org: Org, task_id: FromPath[UUID]) -> Task:
        org.require_writer()
        creator = _creator_filter(org)
        task = await tasks.cancel_task(conn, org_id=org.org_id, task_id=task_id, created_by=creator)
        if task is None:
            raise await _refused(conn, org.org_id, task_id, "cancel", creator)
        return task

    @post(
        f"{TASK_PATH}/heartbeat",
        operation_id="heartbeat_task",
        status_code=200,
        summary="Workers: extend the lease of a task, with the lease_token of its claim; 409 when that lease is gone",
    )
    async def heartbeat_task(
        self, conn: Conn, caller: CallerDep, task_id: FromPath[UUID], data: JSONBody[TaskHeartbeat]
    ) -> Task:
        _require_worker(caller)
        task = await tasks.heartbeat_task(
            conn, org_id=caller.org_id, task_id=task_id, lease_token=data.lease_token, lease_seconds=data.lease_seconds
        )
        if task is None:
            raise await _refused(conn, caller.org_id, task_id, "extend the lease of")
        return task

    @post(
        f"{TASK_PATH}/complete",
        operation_id="complete_task",
        status_code=200,
        summary="Workers: record a task's output (succeeded), with the lease_token of its claim; 409 when that "
        "lease is gone",
    )
    async def complete_task(
        self, conn: Conn, caller: CallerDep, task_id: FromPath[UUID], data: JSONBody[TaskComplete]
    ) -> Task:
        _require_worker(caller)
        task = await tasks.complete_task(
            conn, org_id=caller.org_id, task_id=task_id, lease_token=data.lease_token, output=data.output
        )
        if task is None:
            raise await _refused(conn, caller.org_id, task_id, "complete")
        return task

    @post(
        f"{TASK_PATH}/fail",
        operation_id="fail_task",
        status_code=200,
        summary="Workers: record a failed attempt; a retryable one is queued again with exponential backoff "
        "until max_attempts, then failed; with the lease_token of its claim, 409 when that lease is gone",
    )
    async def fail_task(self, conn: Conn, caller: CallerDep, task_id: FromPath[UUID], data: JSONBody[TaskFail]) -> Task:
        _require_worker(caller)
        task = await tasks.fail_task(
            conn,
            org_id=caller.org_id,
            task_id=task_id,
            lease_token=data.lease_token,
            error=data.error,
            retryable=data.retryable,
        )
        if task is None:
            raise await _refused(conn, caller.org_id, task_id, "fail")
        return task
