"""Retry the embedding of a failed freeform text or table: it goes back to pending for the worker."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, post
from litestar.params import FromPath

from agentpress.models.knowledge_bases import KnowledgeBaseFreeformText, KnowledgeBaseTable
from agentpress.repositories import embedding_jobs, knowledge_bases
from agentpress.repositories import knowledge_base_sources as sources
from agentpress.web.access import Org
from agentpress.web.dependencies import Conn
from agentpress.web.errors import ApiError, not_found


def _not_failed(noun: str, status: str) -> ApiError:
    return ApiError(409, "conflict", f"the {noun} is {status}, not failed: only a failed {noun} can be retried")


class EmbeddingJobsController(Controller):
    # The path parameters are named as KnowledgeBasesController names them: Litestar refuses two
    # names for one segment.
    path = "/knowledge-bases/{kb_id:uuid}"
    tags = ["knowledge bases"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @post(
        "/freeform-texts/{freeform_text_id:uuid}/retry",
        operation_id="retry_knowledge_base_freeform_text",
        status_code=200,
        summary="Put a failed freeform text back to pending, to be embedded again (owners and admins)",
    )
    async def retry_freeform_text(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], freeform_text_id: FromPath[UUID]
    ) -> KnowledgeBaseFreeformText:
        org.require_manager()
        retried = await embedding_jobs.retry_freeform_text(
            conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=freeform_text_id
        )
        if retried is not None:
            return retried
        current = await sources.FREEFORM_TEXTS.get(
            conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=freeform_text_id
        )
        if current is not None:
            raise _not_failed("freeform text", current.status)
        if await knowledge_bases.get_knowledge_base(conn, org_id=org.org_id, knowledge_base_id=kb_id) is None:
            raise not_found("knowledge base")
        raise not_found("freeform text")

    @post(
        "/tables/{table_id:uuid}/retry",
        operation_id="retry_knowledge_base_table",
        status_code=200,
        summary="Put a failed table back to pending, to be embedded again (owners and admins)",
    )
    async def retry_table(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], table_id: FromPath[UUID]
    ) -> KnowledgeBaseTable:
        org.require_manager()
        retried = await embedding_jobs.retry_table(conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=table_id)
        if retried is not None:
            return retried
        current = await sources.TABLES.get(conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=table_id)
        if current is not None:
            raise _not_failed("table", current.status)
        if await knowledge_bases.get_knowledge_base(conn, org_id=org.org_id, knowledge_base_id=kb_id) is None:
            raise not_found("knowledge base")
        raise not_found("table")
