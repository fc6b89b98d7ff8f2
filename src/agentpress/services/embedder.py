"""The optional embedding provider: an OpenAI-compatible client, chunking of texts and tables, and the worker loop."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

import httpx
from pgvector import HalfVector
from psycopg_pool import AsyncConnectionPool

from agentpress.models.embedding_jobs import ClaimedFreeformText, ClaimedTable
from agentpress.models.embeddings import EMBEDDING_DIMENSIONS, ChunkRow
from agentpress.repositories import embedding_jobs, embeddings
from agentpress.services.ingest import HALF_MAX
from agentpress.services.polling import poll
from agentpress.settings import Settings

log = logging.getLogger("agentpress.services.embedder")

# Per connect, read, write and pool wait: a provider that hangs costs a caller at most this long a step.
HTTP_TIMEOUT = httpx.Timeout(30.0)
# One client for the process: its connections to the provider are kept alive and bounded in number.
HTTP_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=10)
USER_AGENT = "AgentPress"
# Texts per request: well under the providers' limits (OpenAI takes 2,048 inputs per request).
BATCH_SIZE = 64
# A chunk holds at most this many characters (about 500 tokens of English).
MAX_CHUNK_CHARS = 2000
# A claimed source whose worker died is claimed again after this long.
LEASE_SECONDS = 30 * 60.0
# The error stored on a failed source is cut to this length.
MAX_ERROR_CHARS = 1000
# Of a provider's error answer, this much goes to the log (never to a caller: it may echo a key).
MAX_LOGGED_BODY_CHARS = 300

_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCE_ENDS = re.compile(r"(?<=[.!?])\s+")


class EmbeddingError(Exception):
    """The provider could not embed: unreachable, an HTTP error, or not 3072 finite values per text.

    str() is in our own words and safe to show (it is stored on a failed source); `detail` holds what the
    provider said, for the log only."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


class EmbeddingsClient:
    """POST {EMBEDDINGS_URL}/embeddings {model, input, dimensions} as the OpenAI API takes it.

    It holds one HTTP client, opened with it and shared by every call (the lifespan opens one for the
    process and closes it at shutdown: `async with` or `aclose()`)."""

    def __init__(self, url: str, model: str, api_key: str | None = None) -> None:
        self.url = f"{url}/embeddings"
        self.model = model
        headers = {"User-Agent": USER_AGENT}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=HTTP_LIMITS, headers=headers)

    async def __aenter__(self) -> EmbeddingsClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector of 3072 finite half-precision values per text, in order; EmbeddingError otherwise."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            vectors.extend(await self._embed_batch(list(texts[start : start + BATCH_SIZE])))
        return vectors

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        body = {"model": self.model, "input": texts, "dimensions": EMBEDDING_DIMENSIONS}
        try:
            response = await self._http.post(self.url, json=body)
        except httpx.TimeoutException:
            raise EmbeddingError("the embeddings provider did not answer in time") from None
        except httpx.HTTPError as exc:
            raise EmbeddingError("the embeddings provider could not be reached", detail=repr(exc)) from None
        if response.status_code != 200:
            raise EmbeddingError(
                f"the embeddings provider answered HTTP {response.status_code}",
                detail=response.text[:MAX_LOGGED_BODY_CHARS],
            )
        try:
            data = response.json()["data"]
            # OpenAI returns the vectors with the index of their input; order by it.
            ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
            vectors = [item["embedding"] for item in ordered]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EmbeddingError(
                "the embeddings provider answered in an unexpected shape", detail=response.text[:MAX_LOGGED_BODY_CHARS]
            ) from None
        if len(vectors) != len(texts):
            raise EmbeddingError(f"the embeddings provider returned {len(vectors)} vectors for {len(texts)} texts")
        for position, vector in enumerate(vectors):
            _check_vector(vector, position)
        return [[float(value) for value in vector] for vector in vectors]


def _check_vector(vector: Any, position: int) -> None:
    if not isinstance(vector, list) or len(vector) != EMBEDDING_DIMENSIONS:
        size = len(vector) if isinstance(vector, list) else "no"
        raise EmbeddingError(
            f"the embeddings provider returned {size} dimensions for text {position}, not {EMBEDDING_DIMENSIONS}"
        )
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in vector):
        raise EmbeddingError(f"the embeddings provider returned a value that is not a number for text {position}")
    if not all(map(math.isfinite, vector)) or max(map(abs, vector)) > HALF_MAX:
        raise EmbeddingError(f"the embeddings provider returned a value that is not finite for text {position}")


def create_client(settings: Settings) -> EmbeddingsClient | None:
    """The provider's client when EMBEDDINGS_URL is set, else None; its owner closes it (aclose)."""
    if settings.embeddings_url is None or settings.embeddings_model is None:
        return None
    key = settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else None
    return EmbeddingsClient(settings.embeddings_url, settings.embeddings_model, key)


def _hard_split(text: str, max_chars: int) -> list[str]:
    """A piece with no boundary short enough: cut at the last space before the limit, else at the limit."""
    pieces: list[str] = []
    while len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars + 1)
        if cut <= 0:
            cut = max_chars
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def _pack(pieces: list[str], max_chars: int, separator: str) -> list[str]:
    """Join consecutive pieces (each at most max_chars) into chunks of at most max_chars."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(separator) + len(piece) > max_chars:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}{separator}{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def chunk_text(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """The text as chunks of at most max_chars, split between paragraphs, else sentences, else words."""
    pieces: list[str] = []
    for paragraph in _PARAGRAPHS.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        sentences: list[str] = []
        for sentence in _SENTENCE_ENDS.split(paragraph):
            sentences.extend(_hard_split(sentence.strip(), max_chars))
        pieces.extend(_pack(sentences, max_chars, " "))
    return _pack(pieces, max_chars, "\n\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split())


def table_chunks(
    name: str, columns: list[dict[str, Any]], rows: list[list[Any]], max_chars: int = MAX_CHUNK_CHARS
) -> list[str]:
    """The table as text: each chunk starts with a header line (the name and the columns), then one line
    per row, `column: value; column: value`, as many rows as fit in max_chars."""
    names = [str(column.get("name", "")) for column in columns]
    header = f"Table {name}: {', '.join(names)}"
    if len(header) > max_chars // 2:
        header = header[: max_chars // 2]
    room = max_chars - len(header) - 1
    lines: list[str] = []
    for row in rows:
        line = "; ".join(f"{column}: {_cell(value)}" for column, value in zip(names, row, strict=False))
        lines.extend(_hard_split(line, room) if line else [])
    if not lines:
        return [header]
    return [f"{header}\n{body}" for body in _pack(lines, room, "\n")]


async def _embed_chunks(client: EmbeddingsClient, texts: list[str]) -> list[ChunkRow]:
    vectors = await client.embed(texts) if texts else []
    return [
        ChunkRow(chunk_index=index, content=text, embedding=HalfVector(vector), metadata={})
        for index, (text, vector) in enumerate(zip(texts, vectors, strict=True))
    ]


def _error_text(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__)[:MAX_ERROR_CHARS]


def _detail(exc: Exception) -> str | None:
    return exc.detail if isinstance(exc, EmbeddingError) else None


async def _process_freeform_text(
    pool: AsyncConnectionPool[Any], client: EmbeddingsClient, text: ClaimedFreeformText
) -> None:
    # The provider is called with no connection held, let alone a transaction.
    try:
        chunks = await _embed_chunks(client, chunk_text(text.content))
    except Exception as exc:  # any failure is this source's, never the loop's
        log.warning("embedding freeform text %s failed: %s", text.id, exc, extra={"provider_detail": _detail(exc)})
        async with pool.connection() as conn:
            await embedding_jobs.fail_freeform_text(conn, source_id=text.id, error=_error_text(exc))
        return
    async with pool.connection() as conn, conn.transaction():
        current = await embedding_jobs.lock_claimed_freeform_text(conn, source_id=text.id, content=text.content)
        if current is None:
            return  # changed (pending again) or deleted while it was embedded
        await embeddings.replace_chunks(
            conn,
            kind="freeform_text",
            org_id=current.org_id,
            knowledge_base_id=current.knowledge_base_id,
            source_id=current.id,
            chunks=chunks,
        )


async def _process_table(pool: AsyncConnectionPool[Any], client: EmbeddingsClient, table: ClaimedTable) -> None:
    try:
        chunks = await _embed_chunks(client, table_chunks(table.name, table.columns, table.rows))
    except Exception as exc:  # any failure is this source's, never the loop's
        log.warning("embedding table %s failed: %s", table.id, exc, extra={"provider_detail": _detail(exc)})
        async with pool.connection() as conn:
            await embedding_jobs.fail_table(conn, source_id=table.id, error=_error_text(exc))
        return
    async with pool.connection() as conn, conn.transaction():
        current = await embedding_jobs.lock_claimed_table(
            conn, source_id=table.id, columns=table.columns, rows=table.rows
        )
        if current is None:
            return
        await embeddings.replace_chunks(
            conn,
            kind="table",
            org_id=current.org_id,
            knowledge_base_id=current.knowledge_base_id,
            source_id=current.id,
            chunks=chunks,
        )


async def process_next(pool: AsyncConnectionPool[Any], client: EmbeddingsClient) -> bool:
    """Claim, embed and store one pending freeform text, else one table; False when none was pending."""
    async with pool.connection() as conn:
        text = await embedding_jobs.claim_freeform_text(conn, lease_seconds=LEASE_SECONDS)
        table = None if text is not None else await embedding_jobs.claim_table(conn, lease_seconds=LEASE_SECONDS)
    if text is not None:
        await _process_freeform_text(pool, client, text)
        return True
    if table is not None:
        await _process_table(pool, client, table)
        return True
    return False


async def run_embedding_loop(pool: AsyncConnectionPool[Any], client: EmbeddingsClient, settings: Settings) -> None:
    """Embed pending sources one at a time, checking every EMBEDDINGS_POLL_SECONDS, until cancelled. After a
    failure, the source's lease lets it be claimed again later."""

    async def embed_next() -> bool:
        return await process_next(pool, client)

    await poll("embedding", embed_next, every=settings.embeddings_poll_seconds, log=log)
