"""Knowledge-base search: the request (vector, text or hybrid) and the chunks it finds."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

SearchMode = Literal["vector", "text", "hybrid"]
SourceKind = Literal["file", "freeform_text", "table", "web_url"]
EMBEDDING_DIMENSIONS = 3072
MAX_K = 100
MAX_QUERY_LENGTH = 1000


class KnowledgeBaseSearch(BaseModel):
    mode: SearchMode = Field(
        description="vector: nearest by cosine distance; text: full-text match; hybrid: both, fused by reciprocal rank"
    )
    k: int = Field(default=10, ge=1, le=MAX_K, description="How many chunks to return")
    knowledge_base_ids: list[UUID] | None = Field(
        default=None,
        max_length=1000,
        description="Search only these knowledge bases of the org (ids of other orgs match nothing); all when absent",
    )
    # Checked by the controller (422 naming `embedding`), not here: a body that fails pydantic's
    # checks is a 400, and a wrong vector is a value the client must fix, like a wrong reference.
    embedding: list[float] | None = Field(
        default=None,
        description=f"The query's embedding, {EMBEDDING_DIMENSIONS} floats: required for vector and hybrid",
    )
    query: str | None = Field(
        default=None,
        max_length=MAX_QUERY_LENGTH,
        description='The query text, web search syntax (words, "a phrase", or, -word): required for text and hybrid',
    )


class ChunkSource(BaseModel):
    kind: SourceKind
    id: UUID
    name: str = Field(description="The file's name, the freeform text's title, the table's name or the web url's url")


class KnowledgeBaseSearchHit(BaseModel):
    """A chunk found, as search_chunks_by_vector and search_chunks_by_text return it."""

    id: UUID = Field(description="The chunk's id")
    knowledge_base_id: UUID
    chunk_index: int
    content: str
    metadata: dict[str, Any]
    source: ChunkSource
    score: float = Field(
        description=(
            "Higher is better. vector: cosine similarity (1 - cosine distance); text: full-text rank, 0 to 1; "
            "hybrid: reciprocal rank fusion, the sum over both lists of 1 / (60 + rank)"
        )
    )


class KnowledgeBaseSearchResult(BaseModel):
    mode: SearchMode
    items: list[KnowledgeBaseSearchHit] = Field(description="Best first; at most k")
