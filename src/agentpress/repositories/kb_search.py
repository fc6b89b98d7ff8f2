"""Search over the chunks of an org's enabled knowledge bases: vector (HNSW), text (GIN) and hybrid (fused)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from pgvector import HalfVector
from psycopg import AsyncConnection

from agentpress.db.queries import queries
from agentpress.models.kb_search import KnowledgeBaseSearchHit

# hnsw.ef_search of every vector search, from the measurement in migrations/0007.embeddings-hnsw.sql:
# on clustered vectors (like real embeddings) recall@10 is 1.0 from 20 on; 100 leaves headroom for
# less clustered sets (0.65 against 0.37 at pgvector's default of 40 on the uniform worst case)
# for a millisecond or two per query. tests/sql/test_kb_search_recall.py holds recall@10 >= 0.95.
EF_SEARCH = 100
# Reciprocal rank fusion: score = sum over the lists of 1 / (RRF_K + rank), rank from 1. 60 is the
# constant of the original paper (Cormack et al., 2009); it keeps one list's top hit from
# outweighing a chunk that both lists rank well.
RRF_K = 60
# Each list of a hybrid search holds this many candidates (at least), so that a chunk ranked
# moderately by both lists can still make the fused top k.
HYBRID_MIN_CANDIDATES = 50
HYBRID_CANDIDATES_PER_K = 4


@contextmanager
def _planned_per_call(conn: AsyncConnection[Any]) -> Iterator[None]:
    """Run the statements inside unprepared, so the server plans each one for its own values.

    As for message search (repositories/message_search.py), psycopg prepares a statement after
    its fifth run and the server may then use its generic plan. Vector search: the generic plan
    does not know k, assumes a LIMIT of a tenth of the table and sorts every chunk instead of
    walking the HNSW index (tests/sql/test_kb_search_recall.py shows both plans). Text search:
    whether the GIN index or the knowledge-base filter is the cheaper way in depends on how
    common the query's words are. Planning these statements takes well under a millisecond.
    """
    threshold = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        yield
    finally:
        conn.prepare_threshold = threshold


async def search_chunks_by_vector(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    embedding: HalfVector,
    knowledge_base_ids: list[UUID] | None,
    k: int,
    ef_search: int = EF_SEARCH,
) -> list[KnowledgeBaseSearchHit]:
    """The k chunks nearest to `embedding` by cosine distance, nearest first, through the HNSW index.

    The settings are SET LOCAL, so they need the transaction: it is the caller's if one is open,
    else one of its own (the pool's connections are autocommit).
    """
    async with conn.transaction():
        await queries.kb_search.set_vector_search_settings.exec(conn, ef_search=ef_search)
        with _planned_per_call(conn):
            return await queries.kb_search.search_chunks_by_vector.many(
                conn,
                KnowledgeBaseSearchHit,
                org_id=org_id,
                embedding=embedding,
                knowledge_base_ids=knowledge_base_ids,
                k=k,
            )


async def search_chunks_by_text(
    conn: AsyncConnection[Any], *, org_id: UUID, query: str, knowledge_base_ids: list[UUID] | None, k: int
) -> list[KnowledgeBaseSearchHit]:
    """The k chunks that best match `query` (websearch syntax), best first, through the GIN index."""
    with _planned_per_call(conn):
        return await queries.kb_search.search_chunks_by_text.many(
            conn, KnowledgeBaseSearchHit, org_id=org_id, query=query, knowledge_base_ids=knowledge_base_ids, k=k
        )


def fuse_by_reciprocal_rank(
    lists: list[list[KnowledgeBaseSearchHit]], *, k: int, rrf_k: int = RRF_K
) -> list[KnowledgeBaseSearchHit]:
    """The top k of several ranked lists by reciprocal rank fusion; each hit's score becomes its fused score.

    Ties (the same fused score) go to the chunk found first in the earlier list, so the order is stable.
    """
    scores: dict[UUID, float] = {}
    hits: dict[UUID, KnowledgeBaseSearchHit] = {}
    for ranked in lists:
        for rank, hit in enumerate(ranked, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (rrf_k + rank)
            hits.setdefault(hit.id, hit)
    best = sorted(scores, key=lambda chunk_id: -scores[chunk_id])[:k]
    return [hits[chunk_id].model_copy(update={"score": scores[chunk_id]}) for chunk_id in best]


async def search_chunks_hybrid(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    embedding: HalfVector,
    query: str,
    knowledge_base_ids: list[UUID] | None,
    k: int,
    ef_search: int = EF_SEARCH,
) -> list[KnowledgeBaseSearchHit]:
    """The vector and text candidates fused by reciprocal rank fusion (in Python: two indexed
    queries that each stay simple to plan, and at most 2 x 400 rows to merge), best first."""
    candidates = max(HYBRID_MIN_CANDIDATES, HYBRID_CANDIDATES_PER_K * k)
    by_vector = await search_chunks_by_vector(
        conn,
        org_id=org_id,
        embedding=embedding,
        knowledge_base_ids=knowledge_base_ids,
        k=candidates,
        ef_search=max(ef_search, candidates),
    )
    by_text = await search_chunks_by_text(
        conn, org_id=org_id, query=query, knowledge_base_ids=knowledge_base_ids, k=candidates
    )
    return fuse_by_reciprocal_rank([by_vector, by_text], k=k)
