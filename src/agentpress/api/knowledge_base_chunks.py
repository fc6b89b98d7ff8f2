"""Chunk ingest: replace a knowledge-base source's chunks and their embeddings in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar
from uuid import UUID

import anyio
from litestar import Controller, put
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath, RawBody
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from agentpress.models.embeddings import EMBEDDING_DIMENSIONS, ChunksReplaced, SourceKind
from agentpress.repositories import embeddings
from agentpress.services.ingest import CHUNKS_BODY_LIMIT, HALF_MAX, ChunkError, MalformedBody, parse_chunks_body
from agentpress.settings import Settings
from agentpress.web.access import Org
from agentpress.web.dependencies import AppSettings, Db
from agentpress.web.errors import ApiError, field_error, not_found

MAX_BODY_BYTES = CHUNKS_BODY_LIMIT
SUMMARY = "Replace the {what}'s chunks (owners and admins): all or nothing, then the source is ready"
DESCRIPTION = (
    'The body is `{"chunks": [{"chunk_index": 0, "content": "...", "embedding": [3072 floats], "metadata": {}}]}`: '
    "at most MAX_CHUNKS_PER_REQUEST chunks (default 500; 422 naming `chunks` past it) in at most "
    f"{MAX_BODY_BYTES / 2**20:.0f} MiB (413 past it). Larger sources load with `agentpress kb ingest`."
)


# A chunk as ingest.parse_chunks_body and check_chunks take it (but that chunk_index is unique in a body).
CHUNK_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["chunk_index", "content", "embedding"],
    properties={
        "chunk_index": Schema(type=OpenAPIType.INTEGER, minimum=0),
        "content": Schema(type=OpenAPIType.STRING, min_length=1),
        "embedding": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.NUMBER, minimum=-HALF_MAX, maximum=HALF_MAX),
            min_items=EMBEDDING_DIMENSIONS,
            max_items=EMBEDDING_DIMENSIONS,
        ),
        "metadata": Schema(type=OpenAPIType.OBJECT, additional_properties=Schema()),
    },
)


def chunks_body_schema(max_chunks: int) -> Schema:
    """The body, read raw (so Litestar cannot document it itself): at most max_chunks chunks."""
    chunks = Schema(type=OpenAPIType.ARRAY, items=CHUNK_SCHEMA, max_items=max_chunks)
    return Schema(type=OpenAPIType.OBJECT, required=["chunks"], properties={"chunks": chunks})


@dataclass
class ChunksOperation(Operation):
    """The body is the chunks' JSON, read raw (RawBody) and parsed off the event loop: the document says so."""

    max_chunks: ClassVar[int] = Settings.model_fields["max_chunks_per_request"].default

    def __post_init__(self) -> None:
        schema = chunks_body_schema(self.max_chunks)
        self.request_body = RequestBody(content={MediaType.JSON: OpenAPIMediaType(schema=schema)}, required=True)


class ChunksCap(ReceiveRoutePlugin):
    """The chunk routes' document caps the chunks at MAX_CHUNKS_PER_REQUEST as this service is configured: the
    routes are declared before any settings are read, and Litestar gives each app copies of them to adjust."""

    def __init__(self, max_chunks: int) -> None:
        self.operation_class = type("ChunksOperation", (ChunksOperation,), {"max_chunks": max_chunks})

    def receive_route(self, route: BaseRoute) -> None:
        for handler in route.route_handlers if isinstance(route, HTTPRoute) else ():
            if handler.operation_class is ChunksOperation:
                handler.operation_class = self.operation_class


async def _replace(
    db: Db, org: Org, settings: Settings, body: bytes, kind: SourceKind, kb_id: UUID, source_id: UUID
) -> ChunksReplaced:
    org.require_manager()
    # Litestar read the body before it resolved any dependency, and no connection is held while it is
    # parsed: a body of hundreds of chunks takes a CPU while it turns into floats, so a thread does it.
    parse = partial(parse_chunks_body, body, max_chunks=settings.max_chunks_per_request)
    try:
        rows = await anyio.to_thread.run_sync(parse)
    except MalformedBody as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    except ChunkError as exc:
        raise field_error(422, "invalid_value", exc.field, exc.message) from None
    async with db.connection() as conn:
        source = await embeddings.replace_chunks(
            conn, kind=kind, org_id=org.org_id, knowledge_base_id=kb_id, source_id=source_id, chunks=rows
        )
    if source is None:
        raise not_found(kind.replace("_", " "))
    return ChunksReplaced(
        source_id=source.id, knowledge_base_id=source.knowledge_base_id, status=source.status, chunk_count=len(rows)
    )


def _replace_route(kind: SourceKind, segment: str, what: str) -> HTTPRouteHandler:
    """The route that replaces the chunks of a source of one kind."""

    @put(
        f"/{{kb_id:uuid}}/{segment}/{{source_id:uuid}}/chunks",
        operation_id=f"replace_{kind}_chunks",
        summary=SUMMARY.format(what=what),
        description=DESCRIPTION,
        request_max_body_size=MAX_BODY_BYTES,
        operation_class=ChunksOperation,
    )
    async def replace_chunks(
        self: Controller,
        db: Db,
        org: Org,
        settings: AppSettings,
        body: RawBody,
        kb_id: FromPath[UUID],
        source_id: FromPath[UUID],
    ) -> ChunksReplaced:
        return await _replace(db, org, settings, body, kind, kb_id, source_id)

    # Named as the controller's attribute: Litestar orders a controller's routes by name, and a traceback says which.
    name = f"replace_{kind}_chunks"
    replace_chunks.fn.__name__, replace_chunks.fn.__qualname__ = name, f"KnowledgeBaseChunksController.{name}"
    return replace_chunks


class KnowledgeBaseChunksController(Controller):
    """One route per source kind: static segments, so that they sit beside the sources' CRUD routes in
    Litestar's route trie (which does not backtrack from `/files/...` to a `{kind}` parameter)."""

    path = "/knowledge-bases"
    tags = ["knowledge bases"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    replace_file_chunks = _replace_route("file", "files", "file")
    replace_freeform_text_chunks = _replace_route("freeform_text", "freeform-texts", "freeform text")
    replace_table_chunks = _replace_route("table", "tables", "table")
    replace_web_url_chunks = _replace_route("web_url", "web-urls", "web URL")
