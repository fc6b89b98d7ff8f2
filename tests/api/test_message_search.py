"""Message search: matching, ranking, snippets, filters, pages, validation, and whose messages are found."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from helpers import bearer, register
from litestar import Litestar, Router
from litestar.testing import TestClient

from agentpress.api.message_search import MessageSearchController
from agentpress.settings import Settings
from agentpress.web.app import api_v1, create_app

SEARCH = "/api/v1/messages/search"


@pytest.fixture
def api(make_settings: Callable[..., Settings]) -> Iterator[TestClient[Litestar]]:
    """The service with the search route, whether or not app.py registers it yet."""
    registered = any(route.path == SEARCH for route in api_v1.routes)
    extra = [] if registered else [Router(path="/api/v1", route_handlers=[MessageSearchController])]
    with TestClient(app=create_app(make_settings(), route_handlers=extra)) as test_client:
        yield test_client


class World:
    """Rows written straight into the database, so that these tests need only the search route."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def one(self, statement: str, *params: Any) -> Any:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(statement, params).fetchone()
        return None if row is None else row[0]

    @property
    def default_org(self) -> str:
        return str(self.one("SELECT id FROM orgs WHERE is_default"))

    def agent(self, org_id: str, name: str = "Support bot") -> str:
        return str(self.one("INSERT INTO agents (org_id, name) VALUES (%s, %s) RETURNING id", org_id, name))

    def thread(self, org_id: str, user_id: str, name: str = "A thread", agent_id: str | None = None) -> str:
        return str(
            self.one(
                "INSERT INTO threads (org_id, user_id, agent_id, name) VALUES (%s, %s, %s, %s) RETURNING id",
                org_id,
                user_id,
                agent_id,
                name,
            )
        )

    def message(self, org_id: str, thread_id: str, text: str, role: str = "user") -> str:
        parts = json.dumps([{"type": "text", "text": text}])
        return str(
            self.one(
                "INSERT INTO messages (org_id, thread_id, role, parts, text_content) "
                "VALUES (%s, %s, %s, %s::jsonb, %s) RETURNING id",
                org_id,
                thread_id,
                role,
                parts,
                text,
            )
        )


@pytest.fixture
def world(database_url: str) -> World:
    return World(database_url)


@pytest.fixture
def alice(api: TestClient[Litestar], admin: dict[str, Any]) -> dict[str, Any]:
    """A member of the default org (the admin registered first, so Alice is a plain user)."""
    return register(api, "alice@example.com")


def search(api: TestClient[Litestar], token: str, **params: Any) -> Any:
    response = api.get(SEARCH, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_finds_ranks_and_highlights(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org, user = world.default_org, alice["user"]["id"]
    thread = world.thread(org, user, name="Billing questions")
    weak = world.message(org, thread, "My invoice arrived. Unrelated words follow here about the weather and lunch.")
    strong = world.message(org, thread, "The invoice is wrong: the invoice total differs from the invoice I expected.")
    world.message(org, thread, "Nothing to see here", role="assistant")

    body = search(api, alice["token"], q="invoices")
    assert body["total"] == 2 and body["page"] == 1 and body["page_size"] == 20
    assert [item["id"] for item in body["items"]] == [strong, weak]
    first = body["items"][0]
    assert set(first) == {"id", "thread_id", "thread_name", "agent_id", "role", "created_at", "rank", "snippet"}
    assert first["thread_id"] == thread and first["thread_name"] == "Billing questions"
    assert first["role"] == "user" and first["agent_id"] is None
    assert 0 < body["items"][1]["rank"] < first["rank"] < 1
    # Stemmed: "invoices" finds "invoice", and every match is marked.
    assert first["snippet"].count("<mark>invoice</mark>") == 3


def test_websearch_syntax(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org, user = world.default_org, alice["user"]["id"]
    thread = world.thread(org, user)
    phrase = world.message(org, thread, "please reset password now")
    apart = world.message(org, thread, "the password I wanted to reset")
    coffee = world.message(org, thread, "coffee machine broken")

    def found(q: str) -> set[str]:
        return {item["id"] for item in search(api, alice["token"], q=q)["items"]}

    assert found("reset password") == {phrase, apart}
    assert found('"reset password"') == {phrase}
    assert found("reset -wanted") == {phrase}
    assert found("coffee or wanted") == {apart, coffee}
    assert found("coffee OR reset") == {phrase, apart, coffee}


def test_only_my_threads_in_this_org(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org = world.default_org
    bob = register(api, "bob@example.com")
    mine = world.message(org, world.thread(org, alice["user"]["id"]), "zanzibar holiday")
    world.message(org, world.thread(org, bob["user"]["id"]), "zanzibar holiday for bob")
    # Alice's own thread in an org of hers, and her search there.
    created = api.post("/api/v1/orgs", json={"name": "Side", "slug": "side"}, headers=bearer(alice["token"]))
    assert created.status_code == 201, created.text
    side = created.json()["id"]
    elsewhere = world.message(side, world.thread(side, alice["user"]["id"]), "zanzibar trip in another org")

    assert [item["id"] for item in search(api, alice["token"], q="zanzibar")["items"]] == [mine]
    in_side = api.get(SEARCH, params={"q": "zanzibar"}, headers={**bearer(alice["token"]), "X-Org-Id": side})
    assert [item["id"] for item in in_side.json()["items"]] == [elsewhere]
    assert search(api, bob["token"], q="zanzibar")["total"] == 1
    # Bob is not in Alice's side org: 404, as for any org he cannot see.
    outsider = api.get(SEARCH, params={"q": "zanzibar"}, headers={**bearer(bob["token"]), "X-Org-Id": side})
    assert outsider.status_code == 404


def test_thread_and_agent_filters(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org, user = world.default_org, alice["user"]["id"]
    agent = world.agent(org)
    with_agent = world.thread(org, user, agent_id=agent)
    without = world.thread(org, user)
    a = world.message(org, with_agent, "deploy the release", role="assistant")
    b = world.message(org, without, "deploy tomorrow")

    def found(**params: Any) -> set[str]:
        return {item["id"] for item in search(api, alice["token"], q="deploy", **params)["items"]}

    assert found() == {a, b}
    assert found(thread_id=without) == {b}
    assert found(agent_id=agent) == {a}
    assert found(agent_id=agent, thread_id=without) == set()
    # Someone else's thread as a filter finds nothing rather than telling whether it exists.
    bob = register(api, "bob@example.com")
    assert search(api, bob["token"], q="deploy", thread_id=with_agent) == {
        "items": [],
        "total": 0,
        "page": 1,
        "page_size": 20,
    }


def test_pages_and_total(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org, user = world.default_org, alice["user"]["id"]
    thread = world.thread(org, user)
    ids = {world.message(org, thread, f"backup number {n}") for n in range(7)}

    pages = [search(api, alice["token"], q="backup", page=page, page_size=3) for page in (1, 2, 3, 4)]
    assert [len(page["items"]) for page in pages] == [3, 3, 1, 0]
    assert [page["total"] for page in pages] == [7, 7, 7, 7]
    assert {item["id"] for page in pages for item in page["items"]} == ids
    # Equal ranks: newest first, so pages do not overlap or skip.
    times = [item["created_at"] for page in pages for item in page["items"]]
    assert times == sorted(times, reverse=True)


def test_stop_words_only_is_an_empty_page(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org = world.default_org
    world.message(org, world.thread(org, alice["user"]["id"]), "the and of it")
    for q in ("the", "the of", "   ", "!!", "-the"):
        assert search(api, alice["token"], q=q) == {"items": [], "total": 0, "page": 1, "page_size": 20}, q


def test_snippet_is_html_escaped(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org = world.default_org
    world.message(org, world.thread(org, alice["user"]["id"]), 'budget: R&D said <script>alert("x")</script>')
    (item,) = search(api, alice["token"], q="budget")["items"]
    assert "<script" not in item["snippet"]
    assert "&lt;script&gt;" in item["snippet"] and "R&amp;D" in item["snippet"]
    assert "<mark>budget</mark>" in item["snippet"]


def test_a_long_message_gives_a_short_snippet(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    org = world.default_org
    filler = " ".join(f"filler{n}" for n in range(2000))
    world.message(org, world.thread(org, alice["user"]["id"]), f"{filler} the needle is here {filler}")
    (item,) = search(api, alice["token"], q="needle")["items"]
    assert "<mark>needle</mark>" in item["snippet"]
    assert len(item["snippet"].split()) <= 2 * 30 + 2


def test_guests_may_search(api: TestClient[Litestar], alice: dict[str, Any], world: World) -> None:
    world.one("UPDATE users SET role = 'guest' WHERE id = %s RETURNING id", alice["user"]["id"])
    org = world.default_org
    mine = world.message(org, world.thread(org, alice["user"]["id"]), "guest reads this")
    assert [item["id"] for item in search(api, alice["token"], q="reads")["items"]] == [mine]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "a", "page": 0}, "page"),
        ({"q": "a", "page_size": 101}, "page_size"),
        ({"q": "a", "thread_id": "nope"}, "thread_id"),
        ({"q": "a", "agent_id": "nope"}, "agent_id"),
    ],
)
def test_invalid_parameters_are_400_naming_them(
    api: TestClient[Litestar], alice: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    response = api.get(SEARCH, params=params, headers=bearer(alice["token"]))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_request"
    assert [error["field"] for error in body["errors"]] == [field]


def test_a_missing_query_is_400_naming_it(api: TestClient[Litestar], alice: dict[str, Any]) -> None:
    response = api.get(SEARCH, headers=bearer(alice["token"]))
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"field": "q", "message": "is a required query parameter"}]


def test_the_longest_query_is_accepted(api: TestClient[Litestar], alice: dict[str, Any]) -> None:
    assert search(api, alice["token"], q="word " * 100)["total"] == 0


def test_sign_in_required(api: TestClient[Litestar]) -> None:
    assert api.get(SEARCH, params={"q": "anything"}).status_code == 401
