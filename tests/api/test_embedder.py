"""The optional embedding provider: chunking, the client, the worker, retry, and search by query text."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from embeddings_provider import API_KEY, MODEL, RunningEmbeddings, StandInEmbeddings, embed
from helpers import bearer, free_port, make_platform_admin, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services.embedder import MAX_CHUNK_CHARS, EmbeddingError, EmbeddingsClient, chunk_text, table_chunks
from agentpress.settings import ConfigError, Settings, load_settings
from agentpress.web.app import create_app

# What a provider's error body might echo back: it must never reach a caller.
SECRET = "sk-live-0123456789abcdefSECRET"
API = "/api/v1"
KBS = f"{API}/knowledge-bases"
SEARCH = f"{KBS}/search"

PARAGRAPHS = [
    "Refunds are paid within five days of the request. " * 10,
    "Shipping to islands takes two weeks, by boat. " * 60,
    "Passwords are reset from the sign-in page; the link is valid for an hour.",
]
TABLE = {
    "name": "Prices",
    "columns": [{"name": "item", "type": "text"}, {"name": "price", "type": "number"}],
    "rows": [["teapot", 25], ["saucer", 4.5], [None, True]],
}


# Chunking and rendering.


def test_short_text_is_one_chunk_and_blank_text_none() -> None:
    assert chunk_text("Hello world.") == ["Hello world."]
    assert chunk_text("  \n\n  ") == []


def test_chunks_split_on_paragraphs_then_sentences_and_keep_every_word() -> None:
    text = "\n\n".join(PARAGRAPHS)
    chunks = chunk_text(text)
    assert len(chunks) > 1
    assert all(0 < len(chunk) <= MAX_CHUNK_CHARS for chunk in chunks)
    assert " ".join(chunks).split() == text.split()
    # The long paragraph is cut between sentences.
    assert all(chunk.endswith(".") for chunk in chunks)


def test_a_word_longer_than_a_chunk_is_cut() -> None:
    chunks = chunk_text("x" * 4500)
    assert [len(chunk) for chunk in chunks] == [2000, 2000, 500]


def test_a_table_is_a_header_line_and_a_line_per_row() -> None:
    (chunk,) = table_chunks(TABLE["name"], TABLE["columns"], TABLE["rows"])
    assert chunk.splitlines() == [
        "Table Prices: item, price",
        "item: teapot; price: 25",
        "item: saucer; price: 4.5",
        "item: ; price: True",
    ]
    assert table_chunks("Empty", TABLE["columns"], []) == ["Table Empty: item, price"]


def test_a_long_table_repeats_its_header_in_every_chunk() -> None:
    rows = [[f"item {i}", i] for i in range(500)]
    chunks = table_chunks("Stock", TABLE["columns"], rows)
    assert len(chunks) > 1
    assert all(len(chunk) <= MAX_CHUNK_CHARS and chunk.startswith("Table Stock: item, price\n") for chunk in chunks)
    assert sum(len(chunk.splitlines()) - 1 for chunk in chunks) == 500


# The client.


@pytest.fixture
def stand_in() -> Iterator[StandInEmbeddings]:
    with RunningEmbeddings() as running:
        yield running


@pytest.mark.anyio
async def test_the_client_sends_model_input_dimensions_and_key(stand_in: StandInEmbeddings) -> None:
    texts = [f"text number {i}" for i in range(70)]  # two requests of at most 64
    async with EmbeddingsClient(f"{stand_in.base_url}/v1", MODEL, API_KEY) as client:
        vectors = await client.embed(texts)
    assert vectors[0] == pytest.approx(embed("text number 0"), abs=1e-9)
    assert vectors[69] == pytest.approx(embed("text number 69"), abs=1e-9)
    assert [len(request["input"]) for request in stand_in.requests] == [64, 6]
    assert all(request["model"] == MODEL and request["dimensions"] == 3072 for request in stand_in.requests)
    assert stand_in.authorizations == [f"Bearer {API_KEY}"] * 2


@pytest.mark.anyio
async def test_the_client_sends_no_key_when_none_is_set(stand_in: StandInEmbeddings) -> None:
    async with EmbeddingsClient(f"{stand_in.base_url}/v1", MODEL) as client:
        await client.embed(["hello"])
    assert stand_in.authorizations == [None]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("misbehaviour", "message"),
    [
        ({"outage_status": 503}, "answered HTTP 503"),
        ({"wrong_dimensions": 1536}, "returned 1536 dimensions"),
        ({"answer_nan": True}, "not finite"),
    ],
)
async def test_the_client_refuses_what_is_not_3072_finite_values(
    stand_in: StandInEmbeddings, misbehaviour: dict[str, Any], message: str
) -> None:
    for name, value in misbehaviour.items():
        setattr(stand_in, name, value)
    async with EmbeddingsClient(f"{stand_in.base_url}/v1", MODEL) as client:
        with pytest.raises(EmbeddingError, match=message):
            await client.embed(["hello"])


@pytest.mark.anyio
async def test_an_unreachable_provider_is_an_embedding_error() -> None:
    async with EmbeddingsClient(f"http://127.0.0.1:{free_port()}/v1", MODEL) as client:
        with pytest.raises(EmbeddingError, match="could not be reached"):
            await client.embed(["hello"])


@pytest.mark.anyio
async def test_the_providers_error_body_is_kept_apart_from_the_message(stand_in: StandInEmbeddings) -> None:
    stand_in.outage_status = 401
    stand_in.outage_body = {"error": {"message": f"Incorrect API key provided: {SECRET}"}}
    async with EmbeddingsClient(f"{stand_in.base_url}/v1", MODEL) as client:
        with pytest.raises(EmbeddingError) as raised:
            await client.embed(["hello"])
    # The message is stored on a failed source and may be shown; what the provider said is for the log.
    assert str(raised.value) == "the embeddings provider answered HTTP 401"
    assert raised.value.detail is not None and SECRET in raised.value.detail


# Settings.


def test_the_settings_need_a_model_with_the_url() -> None:
    with pytest.raises(ConfigError, match=r"EMBEDDINGS_MODEL: .*required when EMBEDDINGS_URL is set"):
        load_settings(embeddings_url="https://api.openai.com/v1")
    with pytest.raises(ConfigError, match=r"EMBEDDINGS_URL: .*http"):
        load_settings(embeddings_url="ftp://example.com", embeddings_model=MODEL)
    settings = load_settings(embeddings_url="https://api.openai.com/v1/", embeddings_model=MODEL, embeddings_api_key="")
    assert settings.embeddings_url == "https://api.openai.com/v1"
    assert settings.embeddings_api_key is None
    assert load_settings(embeddings_url="", embeddings_model="").embeddings_url is None


# The worker and the API.


def wait_for_status(api: TestClient[Litestar], token: str, path: str, statuses: set[str], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        body = api.get(path, headers=bearer(token)).json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def chunks_of(database_url: str, column: str, source_id: str) -> list[tuple[int, str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT chunk_index, content FROM embeddings WHERE {column} = %s ORDER BY chunk_index",  # noqa: S608
            [source_id],
        ).fetchall()
    return [(index, content) for index, content in rows]


@pytest.fixture
def start(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient[Litestar]]]:
    clients: list[TestClient[Litestar]] = []

    def run(**overrides: object) -> TestClient[Litestar]:
        client = TestClient(app=create_app(make_settings(**overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield run
    for client in clients:
        client.__exit__(None, None, None)


def register_admin(api: TestClient[Litestar]) -> dict[str, Any]:
    """The platform admin, owner of the default org (which the test settings' SIGNUP_ORG has others join)."""
    database_url = api.app.state.settings.database_url
    return make_platform_admin(database_url, register(api, "admin@example.com"))


def knowledge_base(api: TestClient[Litestar], token: str, name: str = "Handbook") -> str:
    response = api.post(KBS, json={"name": name}, headers=bearer(token))
    assert response.status_code == 201, response.text
    kb_id: str = response.json()["id"]
    return kb_id


def create(api: TestClient[Litestar], token: str, path: str, body: dict[str, Any]) -> str:
    response = api.post(path, json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    source_id: str = response.json()["id"]
    return source_id


def test_texts_and_tables_are_embedded_and_found_by_query_text(
    start: Callable[..., TestClient[Litestar]], stand_in: StandInEmbeddings, database_url: str
) -> None:
    api = start(**stand_in.settings())
    token = register_admin(api)["token"]
    kb = knowledge_base(api, token)
    text_path = f"{KBS}/{kb}/freeform-texts"
    text_id = create(api, token, text_path, {"title": "Policies", "content": "\n\n".join(PARAGRAPHS)})
    table_id = create(api, token, f"{KBS}/{kb}/tables", TABLE)

    text = wait_for_status(api, token, f"{text_path}/{text_id}", {"ready", "failed"})
    table = wait_for_status(api, token, f"{KBS}/{kb}/tables/{table_id}", {"ready", "failed"})
    assert (text["status"], text["error"], table["status"], table["error"]) == ("ready", None, "ready", None)

    chunks = chunks_of(database_url, "freeform_text_id", text_id)
    assert [index for index, _ in chunks] == list(range(len(chunks)))
    assert [content for _, content in chunks] == chunk_text("\n\n".join(PARAGRAPHS))
    assert chunks_of(database_url, "table_id", table_id) == [(0, table_chunks(**TABLE)[0])]  # type: ignore[arg-type]
    assert all(request["model"] == MODEL for request in stand_in.requests)

    def search(**body: Any) -> list[dict[str, Any]]:
        response = api.post(SEARCH, json=body, headers=bearer(token))
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    (hit,) = search(mode="vector", query="passwords reset link valid hour", k=1)
    assert hit["source"] == {"kind": "freeform_text", "id": text_id, "name": "Policies"}
    assert "Passwords are reset" in hit["content"]
    (hit,) = search(mode="vector", query="teapot price", k=1)
    assert hit["source"] == {"kind": "table", "id": table_id, "name": "Prices"}
    (hit,) = search(mode="hybrid", query="saucer", k=1)
    assert hit["source"]["id"] == table_id
    # An embedding sent is used as it is: the provider is not asked.
    asked = len(stand_in.requests)
    search(mode="vector", embedding=embed("teapot"), k=1)
    assert len(stand_in.requests) == asked

    # New content: pending again, then its new chunks replace the old ones.
    response = api.patch(f"{text_path}/{text_id}", json={"content": "Only one sentence now."}, headers=bearer(token))
    assert response.json()["status"] == "pending"
    wait_for_status(api, token, f"{text_path}/{text_id}", {"ready"})
    assert chunks_of(database_url, "freeform_text_id", text_id) == [(0, "Only one sentence now.")]


def test_provider_failures_mark_the_source_failed_and_retry_embeds_it_again(
    start: Callable[..., TestClient[Litestar]], stand_in: StandInEmbeddings, database_url: str
) -> None:
    api = start(**stand_in.settings())
    token = register_admin(api)["token"]
    kb = knowledge_base(api, token)
    stand_in.outage_status = 503
    text_path = f"{KBS}/{kb}/freeform-texts"
    text_id = create(api, token, text_path, {"title": "Policies", "content": "Refunds take five days."})
    text = wait_for_status(api, token, f"{text_path}/{text_id}", {"ready", "failed"})
    assert text["status"] == "failed"
    assert "HTTP 503" in text["error"]

    stand_in.outage_status = None
    stand_in.wrong_dimensions = 1536
    table_path = f"{KBS}/{kb}/tables"
    table_id = create(api, token, table_path, TABLE)
    table = wait_for_status(api, token, f"{table_path}/{table_id}", {"ready", "failed"})
    assert table["status"] == "failed"
    assert "1536 dimensions" in table["error"]
    assert chunks_of(database_url, "table_id", table_id) == []

    stand_in.wrong_dimensions = None
    stand_in.answer_nan = True
    other_id = create(api, token, text_path, {"title": "Other", "content": "Shipping takes two weeks."})
    other = wait_for_status(api, token, f"{text_path}/{other_id}", {"ready", "failed"})
    assert other["status"] == "failed"
    assert "not finite" in other["error"]
    stand_in.answer_nan = False

    # Retry: back to pending, then ready now that the provider recovered.
    for path in (f"{text_path}/{text_id}", f"{table_path}/{table_id}"):
        response = api.post(f"{path}/retry", headers=bearer(token))
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "pending"
        assert response.json()["error"] is None
        assert wait_for_status(api, token, path, {"ready", "failed"})["status"] == "ready"
        # Only a failed source may be retried.
        response = api.post(f"{path}/retry", headers=bearer(token))
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "conflict"
    assert chunks_of(database_url, "freeform_text_id", text_id) == [(0, "Refunds take five days.")]
    assert len(chunks_of(database_url, "table_id", table_id)) == 1


def test_retry_routes_answer_404_and_403(
    start: Callable[..., TestClient[Litestar]], stand_in: StandInEmbeddings
) -> None:
    api = start(**stand_in.settings())
    admin = register_admin(api)["token"]
    kb = knowledge_base(api, admin)
    text_id = create(api, admin, f"{KBS}/{kb}/freeform-texts", {"title": "t", "content": "Some words."})
    missing = "00000000-0000-0000-0000-000000000000"
    for path, noun in (
        (f"{KBS}/{kb}/freeform-texts/{missing}/retry", "freeform text"),
        (f"{KBS}/{kb}/tables/{missing}/retry", "table"),
        (f"{KBS}/{missing}/tables/{missing}/retry", "knowledge base"),
        (f"{KBS}/{kb}/tables/{text_id}/retry", "table"),
    ):
        response = api.post(path, headers=bearer(admin))
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == f"{noun} not found"
    # A member of another org sees nothing; a plain member of the org may not retry.
    outsider = register(api, "outsider@example.com")
    org = api.post(f"{API}/orgs", json={"name": "Elsewhere", "slug": "elsewhere"}, headers=bearer(outsider["token"]))
    assert org.status_code == 201, org.text
    response = api.post(
        f"{KBS}/{kb}/freeform-texts/{text_id}/retry",
        headers={**bearer(outsider["token"]), "X-Org-Id": org.json()["id"]},
    )
    assert response.status_code == 404
    member = register(api, "member@example.com")["token"]
    response = api.post(f"{KBS}/{kb}/freeform-texts/{text_id}/retry", headers=bearer(member))
    assert response.status_code == 403


def test_search_by_query_text_fails_with_502_when_the_provider_does(
    start: Callable[..., TestClient[Litestar]], stand_in: StandInEmbeddings
) -> None:
    api = start(**stand_in.settings())
    token = register_admin(api)["token"]
    stand_in.outage_status = 500
    stand_in.outage_body = {"error": {"message": f"internal error; your key is {SECRET}"}}
    records: list[logging.LogRecord] = []
    # On the logger itself: the service's logging setup replaces the root's handlers (pytest's among them).
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("agentpress.kb_search").addHandler(handler)
    try:
        response = api.post(SEARCH, json={"mode": "vector", "query": "refunds"}, headers=bearer(token))
    finally:
        logging.getLogger("agentpress.kb_search").removeHandler(handler)
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["code"] == "bad_gateway"
    # Nothing of what the provider said reaches the caller; a request id finds it in the log.
    assert SECRET not in response.text and "HTTP 500" not in response.text
    request_id = response.headers["x-request-id"]
    assert body["detail"].endswith(f"(request id {request_id})")
    (logged,) = [record for record in records if getattr(record, "request_id", None) == request_id]
    assert SECRET in logged.provider_detail and "HTTP 500" in logged.provider_detail
    # Neither embedding nor query: 422 naming embedding, as without a provider.
    response = api.post(SEARCH, json={"mode": "vector"}, headers=bearer(token))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "embedding"


def test_without_a_provider_nothing_is_embedded_and_search_needs_an_embedding(
    start: Callable[..., TestClient[Litestar]], database_url: str
) -> None:
    api = start(outbox_poll_seconds=0.1, embeddings_poll_seconds=0.1)
    token = register_admin(api)["token"]
    kb = knowledge_base(api, token)
    text_id = create(api, token, f"{KBS}/{kb}/freeform-texts", {"title": "t", "content": "Some words."})
    time.sleep(0.5)
    assert api.get(f"{KBS}/{kb}/freeform-texts/{text_id}", headers=bearer(token)).json()["status"] == "pending"
    assert chunks_of(database_url, "freeform_text_id", text_id) == []
    response = api.post(SEARCH, json={"mode": "vector", "query": "words"}, headers=bearer(token))
    assert response.status_code == 422
    assert response.json()["errors"][0] == {"field": "embedding", "message": "is required for vector search"}


def test_one_http_client_serves_every_call_to_the_provider(
    start: Callable[..., TestClient[Litestar]], stand_in: StandInEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = start(**stand_in.settings())
    token = register_admin(api)["token"]
    created: list[httpx.AsyncClient] = []
    original = httpx.AsyncClient.__init__

    def counting(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        created.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "__init__", counting)
    for query in ("refunds", "shipping", "passwords"):
        response = api.post(SEARCH, json={"mode": "vector", "query": query}, headers=bearer(token))
        assert response.status_code == 200, response.text
    assert [request["input"] for request in stand_in.requests][-3:] == [["refunds"], ["shipping"], ["passwords"]]
    assert created == []  # the lifespan's client, not one per search
