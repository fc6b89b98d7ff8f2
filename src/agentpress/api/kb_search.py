"""Search the chunks of the org's enabled knowledge bases: by vector, by text, or both fused."""

from __future__ import annotations

import logging
import math
from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody
from pgvector import HalfVector
from psycopg import AsyncConnection

from agentpress.models.kb_search import (
    EMBEDDING_DIMENSIONS,
    KnowledgeBaseSearch,
    KnowledgeBaseSearchHit,
    KnowledgeBaseSearchResult,
)
from agentpress.repositories import kb_search
from agentpress.services.embedder import EmbeddingError, EmbeddingsClient
from agentpress.web.access import Org
from agentpress.web.dependencies import Db
from agentpress.web.errors import field_error
from agentpress.web.lifespan import resources
from agentpress.web.upstream import upstream_failure

log = logging.getLogger("agentpress.kb_search")

# The largest finite half-precision value: halfvec stores each dimension in 16 bits.
HALF_MAX = 65504.0


def parse_embedding(values: list[float]) -> HalfVector:
    """The query embedding as a halfvec; 422 naming `embedding` when it cannot be one."""
    if len(values) != EMBEDDING_DIMENSIONS:
        raise field_error(
            422, "invalid_value", "embedding", f"must have {EMBEDDING_DIMENSIONS} dimensions, not {len(values)}"
        )
    for position, value in enumerate(values):
        if not math.isfinite(value):
            raise field_error(422, "invalid_value", "embedding", f"holds {value} at {position}: not a finite number")
        if abs(value) > HALF_MAX:
            raise field_error(
                422, "invalid_value", "embedding", f"holds {value} at {position}: beyond half precision (±{HALF_MAX:g})"
            )
    return HalfVector(values)


def _required(values: list[float] | None, field: str, mode: str) -> list[float]:
    if values is None:
        raise field_error(422, "invalid_value", field, f"is required for {mode} search")
    return values


async def _query_embedding(client: EmbeddingsClient | None, data: KnowledgeBaseSearch) -> HalfVector:
    """The embedding sent, else (with EMBEDDINGS_URL set) the embedding of the query text; 422 when neither
    can be had, 502 (with a request id, the provider's words only in the log) when the provider fails."""
    if data.embedding is not None or client is None:
        return parse_embedding(_required(data.embedding, "embedding", data.mode))
    if data.query is None or not data.query.strip():
        raise field_error(
            422, "invalid_value", "embedding", f"is required for {data.mode} search, unless a query is given to embed"
        )
    try:
        (vector,) = await client.embed([data.query])
    except EmbeddingError as exc:
        raise upstream_failure(
            log,
            "the embeddings provider could not embed the query; try again later",
            provider_detail=f"{exc}: {exc.detail}" if exc.detail else str(exc),
        ) from None
    return HalfVector(vector)


def _required_text(text: str | None, mode: str) -> str:
    if text is None or not text.strip():
        raise field_error(422, "invalid_value", "query", f"is required for {mode} search")
    return text


class KnowledgeBaseSearchController(Controller):
    path = "/knowledge-bases/search"
    tags = ["knowledge bases"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @post(
        "/",
        operation_id="search_knowledge_bases",
        status_code=200,
        summary="Search the chunks of the org's enabled knowledge bases by embedding, by text, or both (hybrid)",
        description=(
            "With an embeddings provider configured (EMBEDDINGS_URL), vector and hybrid search may leave out "
            "`embedding`: the `query` text is embedded instead (502 when the provider fails)."
        ),
    )
    async def search_knowledge_bases(
        self, db: Db, org: Org, request: Request[Any, Any, Any], data: JSONBody[KnowledgeBaseSearch]
    ) -> KnowledgeBaseSearchResult:
        # Reading only, so platform guests may search too. Knowledge base ids of another org (or
        # of none) match nothing rather than 404: the answer is the same as for an empty
        # knowledge base, so it does not tell whether the id exists elsewhere. Without an embedding, the
        # query text is embedded by the provider (EMBEDDINGS_URL) before a connection is taken: a provider
        # that hangs must not keep one out of the pool.
        client = resources(request.app.state).embeddings
        embedding = await _query_embedding(client, data) if data.mode != "text" else None
        query = _required_text(data.query, data.mode) if data.mode != "vector" else None
        async with db.connection() as conn:
            return KnowledgeBaseSearchResult(mode=data.mode, items=await _search(conn, org, data, embedding, query))


async def _search(
    conn: AsyncConnection[Any], org: Org, data: KnowledgeBaseSearch, embedding: HalfVector | None, query: str | None
) -> list[KnowledgeBaseSearchHit]:
    org_id, ids, k = org.org_id, data.knowledge_base_ids, data.k
    if embedding is not None and query is not None:
        return await kb_search.search_chunks_hybrid(
            conn, org_id=org_id, embedding=embedding, query=query, knowledge_base_ids=ids, k=k
        )
    if embedding is not None:
        return await kb_search.search_chunks_by_vector(
            conn, org_id=org_id, embedding=embedding, knowledge_base_ids=ids, k=k
        )
    return await kb_search.search_chunks_by_text(
        conn, org_id=org_id, query=_required_text(query, data.mode), knowledge_base_ids=ids, k=k
    )
