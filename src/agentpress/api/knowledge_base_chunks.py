"""Chunk ingest: replace a knowledge-base source's chunks and their embeddings in one transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, put
from litestar.params import FromPath
from pydantic import ValidationError

from agentpress.auth import Org
from agentpress.dependencies import Conn
from agentpress.errors import ApiError, FieldError, field_error, not_found
from agentpress.ingest import ChunkError, check_chunks, parse_json
from agentpress.models.embeddings import ChunksReplace, ChunksReplaced, SourceKind
from agentpress.repositories import embeddings

# A chunk of 3072 floats is 25-60 kB of JSON, so Litestar's default limit (10 MB) would cap a request at
# a few hundred chunks; a source's whole set must fit in one request to be replaced atomically.
MAX_BODY_BYTES = 256 * 1024 * 1024
SUMMARY = "Replace the {what}'s chunks (owners and admins): all or nothing, then the source is ready"


async def _replace(
    request: Request[Any, Any, Any], conn: Conn, org: Org, kind: SourceKind, kb_id: UUID, source_id: UUID
) -> ChunksReplaced:
    org.require_manager()
    body = await request.body()
    # Litestar's decoder rejects NaN and out-of-range numbers as a malformed body; those must be a 422
    # naming the chunk. msgspec first for speed, the standard library only when it refuses.
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        try:
            value = parse_json(body)
        except ValueError as exc:
            raise ApiError(400, "invalid_request", f"malformed body: {exc}") from None
    try:
        data = ChunksReplace.model_validate(value)
    except ValidationError as exc:
        errors = [
            FieldError(field=".".join(str(part) for part in error["loc"]) or "body", message=error["msg"])
            for error in exc.errors()
        ]
        detail = "; ".join(f"{error.field}: {error.message}" for error in errors)
        raise ApiError(422, "invalid_value", detail, errors) from None
    try:
        rows = check_chunks(data.chunks)
    except ChunkError as exc:
        raise field_error(422, "invalid_value", exc.field, exc.message) from None
    source = await embeddings.replace_chunks(
        conn, kind=kind, org_id=org.org_id, knowledge_base_id=kb_id, source_id=source_id, chunks=rows
    )
    if source is None:
        raise not_found(kind.replace("_", " "))
    return ChunksReplaced(
        source_id=source.id, knowledge_base_id=source.knowledge_base_id, status=source.status, chunk_count=len(rows)
    )


class KnowledgeBaseChunksController(Controller):
    """One route per source kind: static segments, so that they sit beside the sources' CRUD routes in
    Litestar's route trie (which does not backtrack from `/files/...` to a `{kind}` parameter)."""

    path = "/knowledge-bases"
    tags = ["knowledge-bases"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @put(
        "/{kb_id:uuid}/files/{source_id:uuid}/chunks",
        operation_id="replace_file_chunks",
        summary=SUMMARY.format(what="file"),
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def replace_file_chunks(
        self, request: Request[Any, Any, Any], conn: Conn, org: Org, kb_id: FromPath[UUID], source_id: FromPath[UUID]
    ) -> ChunksReplaced:
        return await _replace(request, conn, org, "file", kb_id, source_id)

    @put(
        "/{kb_id:uuid}/freeform-texts/{source_id:uuid}/chunks",
        operation_id="replace_freeform_text_chunks",
        summary=SUMMARY.format(what="freeform text"),
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def replace_freeform_text_chunks(
        self, request: Request[Any, Any, Any], conn: Conn, org: Org, kb_id: FromPath[UUID], source_id: FromPath[UUID]
    ) -> ChunksReplaced:
        return await _replace(request, conn, org, "freeform_text", kb_id, source_id)

    @put(
        "/{kb_id:uuid}/tables/{source_id:uuid}/chunks",
        operation_id="replace_table_chunks",
        summary=SUMMARY.format(what="table"),
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def replace_table_chunks(
        self, request: Request[Any, Any, Any], conn: Conn, org: Org, kb_id: FromPath[UUID], source_id: FromPath[UUID]
    ) -> ChunksReplaced:
        return await _replace(request, conn, org, "table", kb_id, source_id)

    @put(
        "/{kb_id:uuid}/web-urls/{source_id:uuid}/chunks",
        operation_id="replace_web_url_chunks",
        summary=SUMMARY.format(what="web URL"),
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def replace_web_url_chunks(
        self, request: Request[Any, Any, Any], conn: Conn, org: Org, kb_id: FromPath[UUID], source_id: FromPath[UUID]
    ) -> ChunksReplaced:
        return await _replace(request, conn, org, "web_url", kb_id, source_id)
