"""Chunk ingest shared by the API and the CLI: the rules a chunk meets, the JSONL loader and its progress bar."""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Annotated
from uuid import UUID

import msgspec
import psycopg
from pgvector import HalfVector
from pgvector.psycopg import register_vector_async
from pydantic import ValidationError

from agentpress.models.embeddings import EMBEDDING_DIMENSIONS, Chunk, ChunkBody, ChunkIn, ChunkRow, SourceKind
from agentpress.repositories import embeddings
from agentpress.settings import Settings
from agentpress.web.bodies import NUL_REFUSED, nul_at

# The largest finite half-precision value: anything beyond would be stored as infinity.
HALF_MAX = 65504.0
# A chunk's share of a PUT .../chunks body: its embedding at full precision (3072 values of up to 24
# characters, the longest repr of a double, each with a comma: 75 KiB) and 21 KiB for its content and
# metadata (a chunk the embedder makes holds at most 2,000 characters).
MAX_CHUNK_JSON_BYTES = 96 * 1024
# The API's path segments and the embeddings table's names for the four kinds; the CLI takes either.
SOURCE_KIND_NAMES: dict[str, SourceKind] = {
    "files": "file",
    "freeform-texts": "freeform_text",
    "tables": "table",
    "web-urls": "web_url",
    "file": "file",
    "freeform_text": "freeform_text",
    "table": "table",
    "web_url": "web_url",
}


class ChunkError(ValueError):
    """A chunk breaks a rule: `field` names it (`chunks[4].embedding`), `message` says how."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class LineError(ValueError):
    """A line of a JSONL file that cannot be ingested; str() reads `line 7: embedding: ...`."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def check_chunk(chunk: Chunk, *, where: str) -> ChunkRow:
    """The chunk as a row to copy, or ChunkError naming `where.<field>` (where: `chunks[4]`)."""
    if chunk.chunk_index < 0:
        raise ChunkError(f"{where}.chunk_index", f"is {chunk.chunk_index}; it must be 0 or more")
    if not chunk.content.strip():
        raise ChunkError(f"{where}.content", "is empty")
    # PostgreSQL's text and jsonb cannot hold U+0000 (the JSON bodies' rule, web/bodies.py).
    if (at := nul_at({"content": chunk.content, "metadata": chunk.metadata})) is not None:
        raise ChunkError(f"{where}.{at}", NUL_REFUSED)
    if len(chunk.embedding) != EMBEDDING_DIMENSIONS:
        raise ChunkError(f"{where}.embedding", f"has {len(chunk.embedding)} values, not {EMBEDDING_DIMENSIONS}")
    values = chunk.embedding
    # map() over C builtins: about 0.1 s for a 2,000-chunk batch, where a Python-level loop takes seconds.
    if not all(map(math.isfinite, values)):
        position = next(i for i, value in enumerate(values) if not math.isfinite(value))
        raise ChunkError(f"{where}.embedding", f"holds {values[position]} at [{position}]; values must be finite")
    if max(map(abs, values)) > HALF_MAX:
        position = next(i for i, value in enumerate(values) if abs(value) > HALF_MAX)
        raise ChunkError(
            f"{where}.embedding",
            f"holds {values[position]} at [{position}], beyond half precision (|x| <= {HALF_MAX:g})",
        )
    return ChunkRow(
        chunk_index=chunk.chunk_index, content=chunk.content, embedding=HalfVector(values), metadata=chunk.metadata
    )


def check_chunks(chunks: Sequence[Chunk]) -> list[ChunkRow]:
    """Every chunk as a row to copy; the first broken rule raises ChunkError naming `chunks[i].<field>`."""
    rows: list[ChunkRow] = []
    seen: dict[int, int] = {}
    for position, chunk in enumerate(chunks):
        where = f"chunks[{position}]"
        rows.append(check_chunk(chunk, where=where))
        first = seen.setdefault(chunk.chunk_index, position)
        if first != position:
            raise ChunkError(f"{where}.chunk_index", f"{chunk.chunk_index} is also chunks[{first}].chunk_index")
    return rows


def max_chunks_body_bytes(max_chunks: int) -> int:
    """The body limit a PUT .../chunks of max_chunks chunks needs: each chunk's share, and 1 KiB for the rest."""
    return max_chunks * MAX_CHUNK_JSON_BYTES + 1024


# PUT .../chunks's body limit. Litestar fixes it when the routes are declared, before any settings are read,
# so it follows MAX_CHUNKS_PER_REQUEST's default (500 chunks: 47 MiB); the lifespan warns when the setting
# asks for more chunks than that fits.
CHUNKS_BODY_LIMIT = max_chunks_body_bytes(Settings.model_fields["max_chunks_per_request"].default)


class MalformedBody(ValueError):
    """A chunk body that is not JSON at all (a 400, where a chunk breaking a rule is a ChunkError, a 422)."""


# msgspec's words: `Expected `int`, got `str` - at `$.chunks[0].chunk_index``.
_MSGSPEC_ERROR = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")


@lru_cache(maxsize=8)
def _body_type(max_chunks: int) -> type[msgspec.Struct]:
    # The cap is a setting, so the type is made for it (once per value): msgspec checks it as it decodes.
    chunks = Annotated[list[ChunkBody], msgspec.Meta(max_length=max_chunks)]
    return msgspec.defstruct("ChunksBody", [("chunks", chunks)])


def _chunk_error(exc: msgspec.ValidationError, max_chunks: int) -> ChunkError:
    match = _MSGSPEC_ERROR.match(str(exc))
    message, path = (match.group("message"), match.group("path") or "") if match else (str(exc), "")
    missing = _MISSING_FIELD.match(message)
    if missing:
        return ChunkError(f"{path}.{missing.group('name')}".lstrip("."), "is required")
    if path == "chunks" and message.startswith("Expected `array` of length <="):
        return ChunkError(
            "chunks",
            f"has more than {max_chunks} chunks; send at most {max_chunks} in one request "
            "(load larger sources with `agentpress kb ingest`)",
        )
    if path.endswith(".embedding") and message.startswith("Expected `array` of length <="):
        return ChunkError(path, f"has more than {EMBEDDING_DIMENSIONS} values, not {EMBEDDING_DIMENSIONS}")
    return ChunkError(path or "body", message[:1].lower() + message[1:])


def parse_chunks_body(body: bytes, *, max_chunks: int) -> list[ChunkRow]:
    """A PUT .../chunks body as rows to copy: MalformedBody when it is not JSON, else ChunkError naming the
    field (`chunks[4].embedding`, `chunks` past max_chunks). CPU-bound: callers run it off the event loop."""
    body_type = _body_type(max_chunks)
    try:
        data = msgspec.json.decode(body, type=body_type)
    except msgspec.ValidationError as exc:
        if not str(exc).startswith(("Number out of range", "Expected `int`, got `float`")):
            raise _chunk_error(exc, max_chunks) from None
        data = _decode_leniently(body, body_type, max_chunks)
    except msgspec.DecodeError:
        data = _decode_leniently(body, body_type, max_chunks)
    except RecursionError:
        raise MalformedBody("malformed body: nested too deeply") from None
    chunks: list[ChunkBody] = data.chunks  # type: ignore[attr-defined]
    return check_chunks(chunks)


def _integral(text: str) -> float:
    """A JSON number with a fraction part, as an int when it has no fraction: JSON Schema counts `2.0` as an
    integer (a chunk_index), msgspec does not. Within 2**53, where a float holds every integer exactly."""
    number = float(text)
    return int(number) if number.is_integer() and abs(number) <= 2**53 else number


def _decode_leniently(body: bytes, body_type: type[msgspec.Struct], max_chunks: int) -> msgspec.Struct:
    """Decode as Python's json does, only when msgspec refused: NaN, Infinity and 1e999 (infinity) decode,
    so that check_chunk can name the chunk that holds them instead of the whole body failing to parse, and
    `2.0` is an integer."""
    try:
        value = json.loads(body, parse_float=_integral)
    except (ValueError, RecursionError) as exc:
        raise MalformedBody(f"malformed body: {exc}") from None
    try:
        return msgspec.convert(value, type=body_type)
    except msgspec.ValidationError as exc:
        raise _chunk_error(exc, max_chunks) from None


class ChunkLine(ChunkIn):
    """One line of a JSONL ingest file: a chunk and the source it belongs to."""

    knowledge_base_id: UUID
    source_kind: str
    source_id: UUID


@dataclass
class SourceBatch:
    """The chunks of one source, read from consecutive lines of a file."""

    kind: SourceKind
    knowledge_base_id: UUID
    source_id: UUID
    first_line: int
    rows: list[ChunkRow] = field(default_factory=list)
    lines: dict[int, int] = field(default_factory=dict)  # chunk_index -> line, for duplicate messages

    @property
    def key(self) -> tuple[str, UUID, UUID]:
        return (self.kind, self.knowledge_base_id, self.source_id)


def _validation_message(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {error['msg']}" if location else str(error["msg"])


def parse_line(number: int, text: str) -> tuple[SourceKind, ChunkLine, ChunkRow]:
    """A line as its source kind, the chunk and its row to copy; LineError naming the line and the problem."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise LineError(number, f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise LineError(number, "not a JSON object")
    try:
        line = ChunkLine.model_validate(value)
    except ValidationError as exc:
        raise LineError(number, _validation_message(exc)) from None
    kind = SOURCE_KIND_NAMES.get(line.source_kind)
    if kind is None:
        names = ", ".join(sorted(SOURCE_KIND_NAMES))
        raise LineError(number, f"source_kind: {line.source_kind!r} is not one of {names}")
    try:
        row = check_chunk(line, where="")
    except ChunkError as exc:
        raise LineError(number, f"{exc.field.lstrip('.')}: {exc.message}") from None
    return kind, line, row


def read_batches(lines: IO[bytes], *, on_line: Callable[[int], None] = lambda _: None) -> Iterator[SourceBatch]:
    """The file's chunks grouped by source. A source's lines must be consecutive: each batch replaces the
    source's whole set, so a source seen again after another one would undo its first batch (LineError).
    `on_line` gets the bytes read so far, for progress. Nothing of a batch is yielded before all its lines check."""
    batch: SourceBatch | None = None
    done: dict[tuple[str, UUID, UUID], int] = {}
    read = 0
    for number, raw in enumerate(lines, start=1):
        read += len(raw)
        on_line(read)
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            continue
        kind, line, row = parse_line(number, text)
        key = (kind, line.knowledge_base_id, line.source_id)
        if batch is None or batch.key != key:
            if batch is not None:
                done[batch.key] = batch.first_line
                yield batch
            if key in done:
                raise LineError(
                    number,
                    f"source {line.source_id} already ended (its lines start at line {done[key]}); "
                    "a source's lines must be consecutive",
                )
            batch = SourceBatch(kind, line.knowledge_base_id, line.source_id, first_line=number)
        previous = batch.lines.setdefault(row.chunk_index, number)
        if previous != number:
            raise LineError(number, f"chunk_index: {row.chunk_index} is also on line {previous}")
        batch.rows.append(row)
    if batch is not None:
        yield batch


class Progress:
    """A one-line progress bar on a stream: redrawn in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, total_bytes: int, stream: IO[str] | None = None, width: int = 30) -> None:
        self.total = max(total_bytes, 1)
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.done_bytes = 0
        self.chunks = 0
        self.sources = 0

    def update(self, *, done_bytes: int | None = None, chunks: int = 0, sources: int = 0) -> None:
        if done_bytes is not None:
            self.done_bytes = done_bytes
        self.chunks += chunks
        self.sources += sources
        now = time.monotonic()
        # Redrawing on every line would cost more than the ingest on a fast terminal.
        if now - self.last >= (0.1 if self.tty else 2.0):
            self.last = now
            self.draw()

    def draw(self, *, end: str = "") -> None:
        fraction = min(self.done_bytes / self.total, 1.0)
        filled = int(fraction * self.width)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        bar = "#" * filled + "-" * (self.width - filled)
        text = (
            f"[{bar}] {fraction:4.0%} {self.chunks} chunks, {self.sources} sources, "
            f"{self.chunks / elapsed:.0f} chunks/s"
        )
        self.stream.write(f"\r{text}{end}" if self.tty else f"{text}\n")
        self.stream.flush()

    def finish(self) -> None:
        self.draw(end="\n")


@dataclass(frozen=True)
class IngestSummary:
    sources: int
    chunks: int
    seconds: float

    def __str__(self) -> str:
        rate = self.chunks / self.seconds if self.seconds > 0 else 0.0
        return f"ingested {self.chunks} chunks of {self.sources} sources in {self.seconds:.2f} s ({rate:.0f} chunks/s)"


async def ingest_lines(
    url: str, lines: IO[bytes], *, total_bytes: int, progress_stream: IO[str] | None = None
) -> IngestSummary:
    """Replace the chunks of every source in a JSONL stream, one transaction per source; LineError stops it,
    with the sources before the bad one written and nothing of that one."""
    started = time.monotonic()
    progress = Progress(total_bytes, progress_stream)
    sources = chunks = 0
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await register_vector_async(conn)
        try:
            for batch in read_batches(lines, on_line=lambda read: progress.update(done_bytes=read)):
                source = await embeddings.replace_chunks(
                    conn,
                    kind=batch.kind,
                    org_id=None,
                    knowledge_base_id=batch.knowledge_base_id,
                    source_id=batch.source_id,
                    chunks=batch.rows,
                )
                if source is None:
                    raise LineError(
                        batch.first_line,
                        f"no {batch.kind} source {batch.source_id} in knowledge base {batch.knowledge_base_id}",
                    )
                sources += 1
                chunks += len(batch.rows)
                progress.update(chunks=len(batch.rows), sources=1)
        finally:
            progress.finish()
    return IngestSummary(sources=sources, chunks=chunks, seconds=time.monotonic() - started)
