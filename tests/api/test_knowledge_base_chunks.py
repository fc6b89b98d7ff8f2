"""Chunk ingest: a source's chunks replaced atomically through binary COPY, every rule a 422 naming the chunk."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from helpers import People, bearer
from litestar import Litestar, Router
from litestar.testing import TestClient
from psycopg import sql

from agentpress.api.knowledge_base_chunks import MAX_BODY_BYTES, KnowledgeBaseChunksController
from agentpress.services.ingest import MAX_CHUNK_JSON_BYTES, max_chunks_body_bytes
from agentpress.settings import Settings
from agentpress.web.app import api_v1, create_app
from agentpress.web.bodies import NUL_REFUSED

API = "/api/v1"
KB = f"{API}/knowledge-bases"
DIMENSIONS = 3072
# The path segment of each kind and the embeddings column that refers to it.
KINDS = {"files": "file_id", "freeform-texts": "freeform_text_id", "tables": "table_id", "web-urls": "web_url_id"}


def _registered() -> bool:
    return any(route.path.endswith("/files/{source_id:uuid}/chunks") for route in api_v1.routes)


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: its owner (the platform admin), an org admin ("manager") and a member; an outsider
    owns an org of their own ("other"), with a knowledge base and a file of its own."""
    people = people_factory
    people.add("manager", org_role="admin")
    people.add("member")
    people.add("outsider")
    people["other_org"] = people.org("Other", owner="outsider")["id"]
    return people


def create_kb(database_url: str, org_id: str, name: str = "Docs") -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "INSERT INTO knowledge_bases (org_id, name) VALUES (%s, %s) RETURNING id::text", [org_id, name]
        ).fetchone()
    assert row is not None
    return str(row[0])


def create_source(database_url: str, kb_id: str, kind: str = "files") -> str:
    """A source of the kind (its API path segment), pending, in the knowledge base's org."""
    statements = {
        "files": "INSERT INTO knowledge_base_files (org_id, knowledge_base_id, name, storage_uri) "
        "SELECT org_id, id, 'guide.pdf', 's3://bucket/guide.pdf' FROM knowledge_bases WHERE id = %s RETURNING id::text",
        "freeform-texts": "INSERT INTO knowledge_base_freeform_texts (org_id, knowledge_base_id, title, content) "
        "SELECT org_id, id, 'Note', 'Some text' FROM knowledge_bases WHERE id = %s RETURNING id::text",
        "tables": "INSERT INTO knowledge_base_tables (org_id, knowledge_base_id, name, columns) "
        "SELECT org_id, id, 'prices', '[]' FROM knowledge_bases WHERE id = %s RETURNING id::text",
        "web-urls": "INSERT INTO knowledge_base_web_urls (org_id, knowledge_base_id, url) "
        "SELECT org_id, id, 'https://example.com' FROM knowledge_bases WHERE id = %s RETURNING id::text",
    }
    with psycopg.connect(database_url) as conn:
        row = conn.execute(statements[kind], [kb_id]).fetchone()
    assert row is not None
    return str(row[0])


def embedding(seed: int) -> list[float]:
    # Short decimals keep the JSON small; values every half-precision number represents exactly.
    return [((seed + i) % 9 - 4) / 8 for i in range(DIMENSIONS)]


def chunks(count: int, generation: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "chunk_index": i,
            "content": f"chunk {i} of generation {generation}",
            "embedding": embedding(i + generation),
            "metadata": {"generation": generation, "page": i + 1},
        }
        for i in range(count)
    ]


def url(kb_id: str, source_id: str, kind: str = "files") -> str:
    return f"{KB}/{kb_id}/{kind}/{source_id}/chunks"


def manager(people: dict[str, Any]) -> dict[str, str]:
    return bearer(people["manager"]["token"])


def stored(database_url: str, source_id: str, column: str = "file_id") -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        statement = sql.SQL(
            "SELECT chunk_index, content, metadata, embedding::text, org_id::text, knowledge_base_id::text "
            "FROM embeddings WHERE {} = %s ORDER BY chunk_index"
        ).format(sql.Identifier(column))
        return conn.execute(statement, [source_id]).fetchall()


def source_state(database_url: str, source_id: str, table: str = "knowledge_base_files") -> tuple[Any, ...]:
    with psycopg.connect(database_url) as conn:
        statement = sql.SQL("SELECT status, error FROM {} WHERE id = %s").format(sql.Identifier(table))
        row = conn.execute(statement, [source_id]).fetchone()
    assert row is not None
    return tuple(row)


@pytest.fixture
def kb(people: dict[str, Any]) -> dict[str, str]:
    """A knowledge base of the default org with a file that failed once (status failed, an error)."""
    kb_id = create_kb(people["database_url"], people["default_org"])
    file_id = create_source(people["database_url"], kb_id)
    with psycopg.connect(people["database_url"]) as conn:
        conn.execute("UPDATE knowledge_base_files SET status = 'failed', error = 'timeout' WHERE id = %s", [file_id])
    return {"kb_id": kb_id, "file_id": file_id}


def test_put_replaces_the_chunks_and_marks_the_source_ready(people: dict[str, Any], kb: dict[str, str]) -> None:
    client: TestClient[Litestar] = people["client"]
    response = client.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": chunks(3)}, headers=manager(people))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "source_id": kb["file_id"],
        "knowledge_base_id": kb["kb_id"],
        "status": "ready",
        "chunk_count": 3,
    }
    rows = stored(people["database_url"], kb["file_id"])
    assert [(row[0], row[1], row[2]) for row in rows] == [
        (i, f"chunk {i} of generation 0", {"generation": 0, "page": i + 1}) for i in range(3)
    ]
    # The vector went through binary COPY as half precision and comes back unchanged.
    assert [json.loads(row[3]) for row in rows] == [embedding(i) for i in range(3)]
    assert {(row[4], row[5]) for row in rows} == {(people["default_org"], kb["kb_id"])}
    assert source_state(people["database_url"], kb["file_id"]) == ("ready", None)

    again = client.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": chunks(2, 1)}, headers=manager(people))
    assert again.status_code == 200, again.text
    assert again.json()["chunk_count"] == 2
    rows = stored(people["database_url"], kb["file_id"])
    assert [(row[0], row[1]) for row in rows] == [(0, "chunk 0 of generation 1"), (1, "chunk 1 of generation 1")]

    # An empty set is a valid replacement: the source has no chunks, and is ready.
    empty = client.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": []}, headers=manager(people))
    assert empty.status_code == 200, empty.text
    assert empty.json()["chunk_count"] == 0
    assert stored(people["database_url"], kb["file_id"]) == []


def test_every_source_kind_takes_chunks(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    kb_id = create_kb(people["database_url"], people["default_org"])
    tables = {
        "files": "knowledge_base_files",
        "freeform-texts": "knowledge_base_freeform_texts",
        "tables": "knowledge_base_tables",
        "web-urls": "knowledge_base_web_urls",
    }
    for kind, column in KINDS.items():
        source_id = create_source(people["database_url"], kb_id, kind)
        response = client.put(url(kb_id, source_id, kind), json={"chunks": chunks(2)}, headers=manager(people))
        assert response.status_code == 200, (kind, response.text)
        assert len(stored(people["database_url"], source_id, column)) == 2
        assert source_state(people["database_url"], source_id, tables[kind]) == ("ready", None)
    with psycopg.connect(people["database_url"]) as conn:
        (total,) = conn.execute("SELECT count(*) FROM embeddings").fetchone()  # type: ignore[misc]
    assert total == 8


def raw_body(batch: list[dict[str, Any]]) -> str:
    # Python's json writes NaN and Infinity as such, as a client built on it would send them.
    return json.dumps({"chunks": batch})


def with_change(change: Callable[[list[dict[str, Any]]], None]) -> str:
    batch = chunks(3, generation=1)
    change(batch)
    return raw_body(batch)


def _set(position: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(batch: list[dict[str, Any]]) -> None:
        batch[position][key] = value

    return change


def _set_value(position: int, index: int, value: float) -> Callable[[list[dict[str, Any]]], None]:
    def change(batch: list[dict[str, Any]]) -> None:
        batch[position]["embedding"][index] = value

    return change


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (with_change(_set(2, "embedding", [0.5] * 1536)), "chunks[2].embedding", "has 1536 values, not 3072"),
        (with_change(_set(1, "embedding", [0.5] * 3073)), "chunks[1].embedding", "has more than 3072 values, not 3072"),
        (
            with_change(_set_value(1, 17, float("nan"))),
            "chunks[1].embedding",
            "holds nan at [17]; values must be finite",
        ),
        (with_change(_set_value(0, 5, float("inf"))), "chunks[0].embedding", "holds inf at [5]; values must be finite"),
        (
            with_change(_set_value(2, 0, -float("inf"))),
            "chunks[2].embedding",
            "holds -inf at [0]; values must be finite",
        ),
        (
            with_change(_set_value(1, 3, 70000.0)),
            "chunks[1].embedding",
            "holds 70000.0 at [3], beyond half precision (|x| <= 65504)",
        ),
        (with_change(_set(2, "chunk_index", 0)), "chunks[2].chunk_index", "0 is also chunks[0].chunk_index"),
        (with_change(_set(1, "chunk_index", -1)), "chunks[1].chunk_index", "is -1; it must be 0 or more"),
        (with_change(_set(1, "content", "")), "chunks[1].content", "is empty"),
        (with_change(_set(0, "content", "  \n")), "chunks[0].content", "is empty"),
        (with_change(_set(1, "content", "a\x00b")), "chunks[1].content", NUL_REFUSED),
        (with_change(_set(0, "metadata", {"page": ["x\x00"]})), "chunks[0].metadata.page.0", NUL_REFUSED),
    ],
    ids=[
        "short",
        "long",
        "nan",
        "infinity",
        "minus-infinity",
        "beyond-half",
        "duplicate-index",
        "negative-index",
        "empty",
        "blank",
        "nul-in-content",
        "nul-in-metadata",
    ],
)
def test_a_broken_rule_is_422_naming_the_chunk_and_nothing_is_stored(
    people: dict[str, Any], kb: dict[str, str], body: str, field: str, message: str
) -> None:
    client: TestClient[Litestar] = people["client"]
    assert client.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": chunks(2)}, headers=manager(people)).is_success
    with psycopg.connect(people["database_url"]) as conn:
        conn.execute(
            "UPDATE knowledge_base_files SET status = 'failed', error = 'timeout' WHERE id = %s", [kb["file_id"]]
        )
    before = stored(people["database_url"], kb["file_id"])

    response = client.put(
        url(kb["kb_id"], kb["file_id"]),
        content=body,
        headers={**manager(people), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_value"
    assert response.json()["errors"] == [{"field": field, "message": message}]
    assert response.json()["detail"] == f"{field} {message}"
    # The old set stays whole and the source keeps its state.
    assert stored(people["database_url"], kb["file_id"]) == before
    assert source_state(people["database_url"], kb["file_id"]) == ("failed", "timeout")


def test_a_number_too_large_for_a_float_is_an_infinity_named_by_its_chunk(
    people: dict[str, Any], kb: dict[str, str]
) -> None:
    client: TestClient[Litestar] = people["client"]
    body = raw_body(chunks(2)).replace("[-0.5,", "[1e999,", 1)
    response = client.put(
        url(kb["kb_id"], kb["file_id"]), content=body, headers={**manager(people), "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "chunks[0].embedding"
    assert stored(people["database_url"], kb["file_id"]) == []


def test_a_chunk_index_written_with_a_fraction_of_zero_is_an_integer(
    people: dict[str, Any], kb: dict[str, str]
) -> None:
    # JSON Schema counts 2.0 as an integer, so the document allows it: it was a 422 "expected int, got float".
    body = raw_body(chunks(3)).replace('"chunk_index": 2,', '"chunk_index": 2.0,', 1)
    assert '"chunk_index": 2.0,' in body
    response = people["client"].put(
        url(kb["kb_id"], kb["file_id"]), content=body, headers={**manager(people), "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert [row[0] for row in stored(people["database_url"], kb["file_id"])] == [0, 1, 2]


def test_a_body_of_the_wrong_shape_is_422_naming_the_field(people: dict[str, Any], kb: dict[str, str]) -> None:
    client: TestClient[Litestar] = people["client"]
    batch = chunks(2)
    del batch[1]["content"]
    response = client.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": batch}, headers=manager(people))
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "chunks[1].content", "message": "is required"}]
    wrong_type = chunks(1)
    wrong_type[0]["chunk_index"] = "first"
    response = client.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": wrong_type}, headers=manager(people))
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"field": "chunks[0].chunk_index", "message": "expected `int`, got `str`"}]
    not_an_object = client.put(url(kb["kb_id"], kb["file_id"]), json=[1, 2], headers=manager(people))
    assert not_an_object.status_code == 422, not_an_object.text
    assert not_an_object.json()["errors"][0]["field"] == "body"
    malformed = client.put(
        url(kb["kb_id"], kb["file_id"]), content="{", headers={**manager(people), "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400, malformed.text
    nested = client.put(
        url(kb["kb_id"], kb["file_id"]),
        content='{"chunks": [{"metadata": {"a": ' + "[" * 5000,
        headers={**manager(people), "Content-Type": "application/json"},
    )
    assert nested.status_code == 400 and "nested too deeply" in nested.json()["detail"], nested.text
    assert stored(people["database_url"], kb["file_id"]) == []


def test_another_orgs_knowledge_base_or_source_is_404(people: dict[str, Any], kb: dict[str, str]) -> None:
    client: TestClient[Litestar] = people["client"]
    database_url = people["database_url"]
    other_kb = create_kb(database_url, people["other_org"], "Theirs")
    other_file = create_source(database_url, other_kb)
    second_kb = create_kb(database_url, people["default_org"], "Second")
    body = {"chunks": chunks(1)}
    for kb_id, source_id, kind in [
        (other_kb, other_file, "files"),  # another org's knowledge base and source
        (kb["kb_id"], other_file, "files"),  # our knowledge base, their source
        (second_kb, kb["file_id"], "files"),  # our source, under another of our knowledge bases
        (kb["kb_id"], kb["file_id"], "tables"),  # our file asked for as a table
        (kb["kb_id"], "00000000-0000-0000-0000-000000000000", "files"),
    ]:
        response = client.put(url(kb_id, source_id, kind), json=body, headers=manager(people))
        assert response.status_code == 404, (kb_id, source_id, kind, response.text)
        assert response.json()["code"] == "not_found"
    # Acting in the other org through X-Org-Id: not a member, so the org itself is 404.
    response = client.put(
        url(other_kb, other_file), json=body, headers={**manager(people), "X-Org-Id": people["other_org"]}
    )
    assert response.status_code == 404
    assert stored(database_url, other_file) == []
    assert stored(database_url, kb["file_id"]) == []
    assert source_state(database_url, other_file) == ("pending", None)
    # An unknown kind has no route.
    assert client.put(url(kb["kb_id"], kb["file_id"], "videos"), json=body, headers=manager(people)).status_code == 404


def test_members_may_not_write_chunks(people: dict[str, Any], kb: dict[str, str]) -> None:
    client: TestClient[Litestar] = people["client"]
    response = client.put(
        url(kb["kb_id"], kb["file_id"]), json={"chunks": chunks(1)}, headers=bearer(people["member"]["token"])
    )
    assert response.status_code == 403, response.text
    assert stored(people["database_url"], kb["file_id"]) == []
    # The org's owner may.
    owner = client.put(
        url(kb["kb_id"], kb["file_id"]), json={"chunks": chunks(1)}, headers=bearer(people["admin"]["token"])
    )
    assert owner.status_code == 200, owner.text


def test_a_concurrent_reader_sees_the_old_set_or_the_new_one_never_a_mix(
    people: dict[str, Any], kb: dict[str, str]
) -> None:
    client: TestClient[Litestar] = people["client"]
    sizes = {0: 3, 1: 5}  # generation -> chunk count, alternating
    assert client.put(
        url(kb["kb_id"], kb["file_id"]), json={"chunks": chunks(3, 0)}, headers=manager(people)
    ).is_success
    seen: list[tuple[int, tuple[int, ...]]] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            # Autocommit: each SELECT is its own READ COMMITTED snapshot, as an API reader's would be.
            with psycopg.connect(people["database_url"], autocommit=True) as conn:
                while not stop.is_set():
                    row = conn.execute(
                        "SELECT count(*), array_agg(DISTINCT (metadata->>'generation')::int) "
                        "FROM embeddings WHERE file_id = %s",
                        [kb["file_id"]],
                    ).fetchone()
                    assert row is not None
                    seen.append((row[0], tuple(row[1] or ())))
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_number in range(1, 13):
            generation = round_number % 2
            response = client.put(
                url(kb["kb_id"], kb["file_id"]),
                json={"chunks": chunks(sizes[generation], generation)},
                headers=manager(people),
            )
            assert response.status_code == 200, response.text
            time.sleep(0.01)
    finally:
        stop.set()
        reader.join(timeout=30)
    assert not failures, failures
    assert len(seen) > 12
    # Every snapshot holds one whole generation: 3 chunks of generation 0 or 5 of generation 1.
    assert set(seen) <= {(3, (0,)), (5, (1,))}, sorted(set(seen))


def full_precision_embedding() -> list[float]:
    """3072 values whose shortest repr is 24 characters, the longest a double takes: the body limit's worst case."""
    value = -1.2345678901234567e-100
    assert len(repr(value)) == 24
    return [value] * DIMENSIONS


def test_a_full_request_at_full_precision_fits_the_body_limit_and_goes_through_binary_copy(
    people: dict[str, Any], kb: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client: TestClient[Litestar] = people["client"]
    statements: list[str] = []
    original = psycopg.AsyncCursor.copy

    def spy(self: psycopg.AsyncCursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(statement))
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "copy", spy)
    count = Settings.model_fields["max_chunks_per_request"].default
    # As many chunks as a request may hold, each a chunk of the embedder's largest (2,000 characters) with
    # every value at its longest, written by Python's json (", " between values): the most a client needs.
    batch = [
        {"chunk_index": i, "content": "x" * 2000, "embedding": full_precision_embedding(), "metadata": {"page": i}}
        for i in range(count)
    ]
    body = json.dumps({"chunks": batch}).encode()
    assert len(body) > 10_000_000  # above Litestar's default limit, which the route raises
    assert len(body) <= MAX_BODY_BYTES
    started = time.monotonic()
    response = client.put(
        url(kb["kb_id"], kb["file_id"]), content=body, headers={**manager(people), "Content-Type": "application/json"}
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text[:500]
    assert response.json()["chunk_count"] == count
    assert len(statements) == 1
    assert "COPY embeddings" in statements[0] and "FORMAT BINARY" in statements[0]
    with psycopg.connect(people["database_url"]) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT chunk_index), max(chunk_index), bool_and(vector_dims(embedding) = 3072) "
            "FROM embeddings WHERE file_id = %s",
            [kb["file_id"]],
        ).fetchone()
    assert row == (count, count, count - 1, True)
    print(f"\n{count} chunks ({len(body) / 1e6:.1f} MB of JSON) in {elapsed:.2f} s: {count / elapsed:.0f} chunks/s")


def test_an_embedding_of_100000_values_is_422_naming_it(people: dict[str, Any], kb: dict[str, str]) -> None:
    client: TestClient[Litestar] = people["client"]
    batch = chunks(2)
    batch[1]["embedding"] = [0.5] * 100_000
    response = client.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": batch}, headers=manager(people))
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "chunks[1].embedding", "message": "has more than 3072 values, not 3072"}
    ]
    assert stored(people["database_url"], kb["file_id"]) == []


def test_more_chunks_than_max_chunks_per_request_is_422_naming_chunks(
    people: dict[str, Any], kb: dict[str, str], make_settings: Callable[..., Settings]
) -> None:
    extra = [] if _registered() else [Router(path=API, route_handlers=[KnowledgeBaseChunksController])]
    with TestClient(app=create_app(make_settings(max_chunks_per_request=3), route_handlers=extra)) as capped:
        response = capped.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": chunks(4)}, headers=manager(people))
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["field"] == "chunks"
        assert error["message"].startswith("has more than 3 chunks; send at most 3 in one request")
        assert "agentpress kb ingest" in error["message"]
        assert stored(people["database_url"], kb["file_id"]) == []
        at_the_cap = capped.put(url(kb["kb_id"], kb["file_id"]), json={"chunks": chunks(3)}, headers=manager(people))
        assert at_the_cap.status_code == 200, at_the_cap.text
        # The document says so, as this service is configured.
        body = capped.get("/schema/openapi.json").json()["paths"][url("{kb_id}", "{source_id}")]["put"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["properties"]["chunks"]["maxItems"] == 3


def test_the_body_limit_is_what_the_chunk_cap_needs() -> None:
    default_cap = Settings.model_fields["max_chunks_per_request"].default
    assert MAX_BODY_BYTES == max_chunks_body_bytes(default_cap) < 64 * 1024 * 1024
    # A chunk's share holds its embedding at full precision with room to spare for content and metadata.
    one = json.dumps({"chunk_index": 0, "content": "x" * 2000, "embedding": full_precision_embedding(), "metadata": {}})
    assert len(one) + 2 <= MAX_CHUNK_JSON_BYTES
