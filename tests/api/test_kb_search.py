"""Knowledge-base search through the API: vector, text and hybrid, scoping to the org and to knowledge bases, errors."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from embeddings_provider import RunningEmbeddings
from helpers import bearer, register, serving
from litestar import Litestar, Router
from litestar.testing import TestClient

from agentpress.api.kb_search import KnowledgeBaseSearchController, parse_embedding
from agentpress.settings import Settings
from agentpress.web.app import api_v1, create_app
from agentpress.web.errors import ApiError

SEARCH = "/api/v1/knowledge-bases/search"
DIMENSIONS = 3072


@pytest.fixture
def api(make_settings: Callable[..., Settings]) -> Iterator[TestClient[Litestar]]:
    """The service with the search route, whether or not app.py registers it yet."""
    registered = any(route.path == SEARCH for route in api_v1.routes)
    extra = [] if registered else [Router(path="/api/v1", route_handlers=[KnowledgeBaseSearchController])]
    with TestClient(app=create_app(make_settings(), route_handlers=extra)) as test_client:
        yield test_client


def vector(**components: float) -> list[float]:
    """A 3072-dimension vector with the given components (`d0=1.0, d5=0.5`) and zeros elsewhere."""
    values = [0.0] * DIMENSIONS
    for name, value in components.items():
        values[int(name.removeprefix("d"))] = value
    return values


class World:
    """Knowledge bases, sources and chunks written straight into the database: only the search route is needed."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def one(self, statement: str, *params: Any) -> Any:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(statement, params).fetchone()
        return None if row is None else row[0]

    @property
    def default_org(self) -> str:
        return str(self.one("SELECT id FROM orgs WHERE is_default"))

    def knowledge_base(self, org_id: str, name: str = "Handbook", *, is_enabled: bool = True) -> str:
        return str(
            self.one(
                "INSERT INTO knowledge_bases (org_id, name, is_enabled) VALUES (%s, %s, %s) RETURNING id",
                org_id,
                name,
                is_enabled,
            )
        )

    def source(self, kind: str, org_id: str, kb_id: str, name: str) -> str:
        statements = {
            "file": "INSERT INTO knowledge_base_files (org_id, knowledge_base_id, name, storage_uri) "
            "VALUES (%s, %s, %s, 's3://bucket/' || %s) RETURNING id",
            "freeform_text": "INSERT INTO knowledge_base_freeform_texts (org_id, knowledge_base_id, title, content) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            "table": "INSERT INTO knowledge_base_tables (org_id, knowledge_base_id, name, columns) "
            "VALUES (%s, %s, %s, jsonb_build_array(%s::text)) RETURNING id",
            "web_url": "INSERT INTO knowledge_base_web_urls (org_id, knowledge_base_id, url) "
            "VALUES (%s, %s, %s) RETURNING id",
        }
        params = (org_id, kb_id, name) if kind == "web_url" else (org_id, kb_id, name, name)
        return str(self.one(statements[kind], *params))

    def chunk(
        self,
        org_id: str,
        kb_id: str,
        source: tuple[str, str],
        content: str,
        embedding: list[float],
        chunk_index: int = 0,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        kind, source_id = source
        columns = f"org_id, knowledge_base_id, {kind}_id, chunk_index, content, embedding, metadata"
        return str(
            self.one(
                f"INSERT INTO embeddings ({columns}) "  # noqa: S608 (kind is one of the four source kinds)
                "VALUES (%s, %s, %s, %s, %s, %s::halfvec(3072), %s::jsonb) RETURNING id",
                org_id,
                kb_id,
                source_id,
                chunk_index,
                content,
                json.dumps(embedding),
                json.dumps(metadata or {}),
            )
        )


@pytest.fixture
def world(database_url: str) -> World:
    return World(database_url)


@pytest.fixture
def alice(api: TestClient[Litestar], admin: dict[str, Any]) -> dict[str, Any]:
    """A member of the default org (the admin registered first, so Alice is a plain user)."""
    return register(api, "alice@example.com")


def post(api: TestClient[Litestar], token: str, body: dict[str, Any], **headers: str) -> Any:
    return api.post(SEARCH, json=body, headers={**bearer(token), **headers})


def search(api: TestClient[Litestar], token: str, **body: Any) -> list[dict[str, Any]]:
    response = post(api, token, body)
    assert response.status_code == 200, response.text
    assert response.json()["mode"] == body["mode"]
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_vector_search_nearest_first_with_each_source_kind(
    api: TestClient[Litestar], alice: dict[str, Any], world: World
) -> None:
    org = world.default_org
    kb = world.knowledge_base(org)
    # Chunk i leans further from d0 as i grows: cosine similarity to d0 is 1 / sqrt(1 + i^2).
    kinds = {"file": "guide.pdf", "freeform_text": "Notes", "table": "Prices", "web_url": "https://example.com/faq"}
    chunks = []
    for i, (kind, name) in enumerate(kinds.items()):
        source = (kind, world.source(kind, org, kb, name))
        embedding = vector(d0=1.0, **{f"d{i + 1}": float(i)})
        chunks.append((world.chunk(org, kb, source, f"chunk {i}", embedding, i, {"page": i}), source))

    items = search(api, alice["token"], mode="vector", embedding=vector(d0=1.0), k=4)
    assert [item["id"] for item in items] == [chunk_id for chunk_id, _ in chunks]
    first = items[0]
    assert set(first) == {"id", "knowledge_base_id", "chunk_index", "content", "metadata", "source", "score"}
    assert first["knowledge_base_id"] == kb and first["content"] == "chunk 0" and first["metadata"] == {"page": 0}
    for i, item in enumerate(items):
        assert item["score"] == pytest.approx(1 / math.sqrt(1 + i * i), abs=1e-3)
        kind, source_id = chunks[i][1]
        assert item["source"] == {"kind": kind, "id": source_id, "name": kinds[kind]}
        assert item["chunk_index"] == i
    # k defaults to 10 and bounds the answer.
    assert len(search(api, alice["token"], mode="vector", embedding=vector(d0=1.0), k=2)) == 2
    assert len(search(api, alice["token"], mode="vector", embedding=vector(d0=1.0))) == 4


def test_text_search_ranks_matches(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org = world.default_org
    kb = world.knowledge_base(org)
    source = ("freeform_text", world.source("freeform_text", org, kb, "Policies"))
    strong = world.chunk(
        org, kb, source, "Refunds: a refund is paid within 14 days of the refund request.", vector(d0=1)
    )
    weak = world.chunk(org, kb, source, "Shipping takes a week; see the refund policy.", vector(d0=1), 1)
    world.chunk(org, kb, source, "Opening hours are nine to five.", vector(d0=1), 2)

    items = search(api, alice["token"], mode="text", query="refunds")
    assert [item["id"] for item in items] == [strong, weak]
    assert 0 < items[1]["score"] < items[0]["score"] <= 1
    assert items[0]["source"]["name"] == "Policies"
    assert [item["id"] for item in search(api, alice["token"], mode="text", query='"refund policy"')] == [weak]
    # Stop words only: nothing matches, which is not an error.
    assert search(api, alice["token"], mode="text", query="the of") == []


def test_hybrid_fuses_both_lists_by_reciprocal_rank(
    api: TestClient[Litestar], alice: dict[str, Any], world: World
) -> None:
    org = world.default_org
    kb = world.knowledge_base(org)
    source = ("file", world.source("file", org, kb, "manual.pdf"))
    # Nearest to d0 and matching; second nearest with no word in common; far but matching best.
    both = world.chunk(org, kb, source, "How to reset a password.", vector(d0=1.0), 0)
    near = world.chunk(org, kb, source, "Unrelated words about lunch.", vector(d0=1.0, d1=0.5), 1)
    text = world.chunk(org, kb, source, "Password reset: the password reset page.", vector(d1=1.0), 2)

    items = search(api, alice["token"], mode="hybrid", embedding=vector(d0=1.0), query="password reset", k=3)
    # Vector ranks: both 1, near 2, text 3; text ranks: text 1, both 2.
    scores = {item["id"]: item["score"] for item in items}
    assert scores == pytest.approx({both: 1 / 61 + 1 / 62, text: 1 / 63 + 1 / 61, near: 1 / 62})
    assert [item["id"] for item in items] == [both, text, near]
    assert [
        item["id"]
        for item in search(api, alice["token"], mode="hybrid", embedding=vector(d0=1.0), query="password reset", k=1)
    ] == [both]


def test_scoped_to_enabled_and_chosen_knowledge_bases(
    api: TestClient[Litestar], alice: dict[str, Any], world: World
) -> None:
    org = world.default_org
    first, second = world.knowledge_base(org, "First"), world.knowledge_base(org, "Second")
    disabled = world.knowledge_base(org, "Off", is_enabled=False)
    ids = {}
    for kb in (first, second, disabled):
        source = ("file", world.source("file", org, kb, "doc.txt"))
        ids[kb] = world.chunk(org, kb, source, "zanzibar travel guide", vector(d0=1.0))

    def found(**body: Any) -> set[str]:
        token = alice["token"]
        by_vector = {item["id"] for item in search(api, token, mode="vector", embedding=vector(d0=1.0), **body)}
        by_text = {item["id"] for item in search(api, token, mode="text", query="zanzibar", **body)}
        hybrid = {
            item["id"] for item in search(api, token, mode="hybrid", embedding=vector(d0=1.0), query="zanzibar", **body)
        }
        assert by_vector == by_text == hybrid
        return by_vector

    assert found() == {ids[first], ids[second]}
    assert found(knowledge_base_ids=[second]) == {ids[second]}
    # A disabled knowledge base is never searched, even when named.
    assert found(knowledge_base_ids=[disabled]) == set()
    assert found(knowledge_base_ids=[]) == set()


def test_another_orgs_chunks_never_appear(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org = world.default_org
    bob = register(api, "bob@example.com")
    mine_kb = world.knowledge_base(org)
    mine = world.chunk(org, mine_kb, ("file", world.source("file", org, mine_kb, "a.txt")), "zanzibar", vector(d0=1))
    created = api.post("/api/v1/orgs", json={"name": "Side", "slug": "side"}, headers=bearer(alice["token"]))
    assert created.status_code == 201, created.text
    side = created.json()["id"]
    side_kb = world.knowledge_base(side)
    theirs = world.chunk(
        side, side_kb, ("file", world.source("file", side, side_kb, "b.txt")), "zanzibar", vector(d0=1)
    )

    modes: list[dict[str, Any]] = [
        {"mode": "vector", "embedding": vector(d0=1.0)},
        {"mode": "text", "query": "zanzibar"},
        {"mode": "hybrid", "embedding": vector(d0=1.0), "query": "zanzibar"},
    ]
    for body in modes:
        # Bob, in the default org only: the side org's chunks, even named by their knowledge base, match nothing.
        assert [item["id"] for item in search(api, bob["token"], **body)] == [mine]
        assert search(api, bob["token"], knowledge_base_ids=[side_kb], **body) == []
        # Alice acting in her side org sees its chunks only; Bob may not act there at all.
        in_side = post(api, alice["token"], body, **{"X-Org-Id": side})
        assert [item["id"] for item in in_side.json()["items"]] == [theirs]
        assert post(api, bob["token"], body, **{"X-Org-Id": side}).status_code == 404


def test_guests_may_search(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org = world.default_org
    kb = world.knowledge_base(org)
    chunk = world.chunk(org, kb, ("file", world.source("file", org, kb, "a.txt")), "zanzibar", vector(d0=1))
    world.one("UPDATE users SET role = 'guest' WHERE email = 'alice@example.com' RETURNING id")
    assert [item["id"] for item in search(api, alice["token"], mode="text", query="zanzibar")] == [chunk]
    assert [item["id"] for item in search(api, alice["token"], mode="vector", embedding=vector(d0=1.0))] == [chunk]
    assert api.post(SEARCH, json={"mode": "text", "query": "zanzibar"}).status_code == 401


def field_of(response: Any) -> str:
    body = response.json()
    assert response.status_code == 422, body
    assert body["code"] == "invalid_value"
    (error,) = body["errors"]
    assert body["detail"].startswith(error["field"])
    field: str = error["field"]
    return field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "vector"}, "embedding"),
        ({"mode": "vector", "query": "words"}, "embedding"),
        ({"mode": "hybrid", "query": "words"}, "embedding"),
        ({"mode": "text"}, "query"),
        ({"mode": "text", "query": "   "}, "query"),
        ({"mode": "text", "embedding": vector(d0=1.0)}, "query"),
        ({"mode": "hybrid", "embedding": vector(d0=1.0)}, "query"),
        ({"mode": "vector", "embedding": [1.0, 2.0]}, "embedding"),
        ({"mode": "vector", "embedding": [*vector(d0=1.0), 0.5]}, "embedding"),
        ({"mode": "vector", "embedding": vector(d0=1.0, d7=70000.0)}, "embedding"),
        ({"mode": "hybrid", "query": "words", "embedding": vector(d0=1.0, d7=-65505.0)}, "embedding"),
    ],
)
def test_missing_or_invalid_inputs_are_422_naming_the_field(
    api: TestClient[Litestar], alice: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    assert field_of(post(api, alice["token"], body)) == field


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_json_numbers_are_a_malformed_body(
    api: TestClient[Litestar], alice: dict[str, Any], value: str
) -> None:
    # Not JSON (or, 1e999, beyond a double): the JSON decoder refuses the body before the service sees it.
    embedding = ",".join([value, *["0.0"] * (DIMENSIONS - 1)])
    response = api.post(
        SEARCH,
        content=f'{{"mode": "vector", "embedding": [{embedding}]}}',
        headers={**bearer(alice["token"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 65504.5, -1e6])
def test_the_embedding_check_names_non_finite_and_out_of_range_values(value: float) -> None:
    # The same check for bodies the JSON decoder lets through (a float beyond half precision, or a
    # non-finite value from a decoder that accepts one).
    with pytest.raises(ApiError) as raised:
        parse_embedding(vector(d0=1.0, d9=value))
    assert raised.value.body.status_code == 422
    assert [error.field for error in raised.value.body.errors] == ["embedding"]
    assert "at 9" in raised.value.body.detail
    assert parse_embedding(vector(d0=1.0, d9=65504.0)).dimensions() == DIMENSIONS


def test_k_and_mode_are_checked(api: TestClient[Litestar], alice: dict[str, Any]) -> None:
    for body in (
        {"mode": "text", "query": "a", "k": 0},
        {"mode": "text", "query": "a", "k": 101},
        {"mode": "fuzzy", "query": "a"},
        {"mode": "text", "query": "a", "knowledge_base_ids": ["not-a-uuid"]},
    ):
        response = post(api, alice["token"], body)
        assert response.status_code == 400, (body, response.text)
    assert len(search(api, alice["token"], mode="text", query="a", k=100)) == 0


def test_a_search_waiting_on_a_hung_provider_holds_no_pool_connection(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    with RunningEmbeddings() as stand_in:
        stand_in.hang = True
        settings = make_settings(**stand_in.settings(pool_max_size=1, pool_min_size=0, pool_timeout=3.0))
        outcome: list[int] = []
        with serving(create_app(settings)) as base:
            token = httpx.post(
                f"{base}/api/v1/auth/register",
                json={"email": "owner@example.com", "password": "correct horse battery staple"},
                timeout=30,
            ).json()["token"]

            def search() -> None:
                answer = httpx.post(
                    f"{base}{SEARCH}", json={"mode": "vector", "query": "refunds"}, headers=bearer(token), timeout=60
                )
                outcome.append(answer.status_code)

            searcher = threading.Thread(target=search)
            searcher.start()
            try:
                deadline = time.monotonic() + 30
                while stand_in.hanging == 0:
                    assert time.monotonic() < deadline, "the search never reached the provider"
                    time.sleep(0.02)
                # The search waits on the provider; the only connection is free for everyone else.
                with httpx.Client(base_url=base, headers=bearer(token), timeout=30) as other:
                    answers = [other.get("/api/v1/auth/me") for _ in range(3)]
                    answers += [other.get("/api/v1/knowledge-bases") for _ in range(3)]
                assert [answer.status_code for answer in answers] == [200] * 6, [answer.text for answer in answers]
                assert outcome == []  # still waiting
            finally:
                stand_in.release.set()
                searcher.join(timeout=60)
        assert outcome == [200]
