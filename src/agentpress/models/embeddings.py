"""Chunk ingest: the chunks a client sends for a source, the rows copied into embeddings, and the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol
from uuid import UUID

import msgspec
from pgvector import HalfVector
from pydantic import BaseModel, Field

SourceKind = Literal["file", "freeform_text", "table", "web_url"]
"""A source's kind as the embeddings table names its reference: `<kind>_id`."""
SourceStatus = Literal["pending", "processing", "ready", "failed"]
EMBEDDING_DIMENSIONS = 3072


class Chunk(Protocol):
    """What ingest.check_chunk reads of a chunk, whichever decoder made it."""

    @property
    def chunk_index(self) -> int: ...
    @property
    def content(self) -> str: ...
    @property
    def embedding(self) -> list[float]: ...
    @property
    def metadata(self) -> dict[str, Any]: ...


class ChunkIn(BaseModel):
    """One chunk as sent; ingest.check_chunks holds the rules (3072 finite half-precision values, ...)."""

    chunk_index: int
    content: str
    embedding: list[float] = Field(description="3072 finite values within half precision (|x| <= 65504)")
    metadata: dict[str, Any] = {}


class ChunksReplace(BaseModel):
    """The complete new set of a source's chunks: it replaces the old set in one transaction."""

    chunks: list[ChunkIn]


class ChunkBody(msgspec.Struct):
    """A chunk as PUT .../chunks decodes it (ingest.parse_chunks_body): an embedding of more than 3072 values
    fails in msgspec's decoder, before any Python-level work on it; one of fewer, in ingest.check_chunk."""

    chunk_index: int
    content: str
    embedding: Annotated[list[float], msgspec.Meta(max_length=EMBEDDING_DIMENSIONS)]
    metadata: dict[str, Any] = {}


class IngestedSource(BaseModel):
    """The source row as a replacement leaves it (status ready), locked until that transaction ends."""

    id: UUID
    org_id: UUID
    knowledge_base_id: UUID
    status: SourceStatus


class ChunksReplaced(BaseModel):
    source_id: UUID
    knowledge_base_id: UUID
    status: SourceStatus
    chunk_count: int


@dataclass(frozen=True)
class ChunkRow:
    """A checked chunk, ready for COPY: the embedding already converted to a half-precision vector."""

    chunk_index: int
    content: str
    embedding: HalfVector
    metadata: dict[str, Any]
