"""The list envelopes: offset pages with their total, keyset pages with next_cursor, and bad paging input."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.web.pagination import MAX_PAGE, MAX_PAGE_SIZE


@pytest.fixture
def api(widgets_client: Callable[..., TestClient[Litestar]]) -> Iterator[TestClient[Litestar]]:
    with widgets_client() as client:
        owner_id = client.post("/test/widgets/owners", json={"name": "ada"}).json()["id"]
        for n in range(5):
            assert client.post("/test/widgets", json={"owner_id": owner_id, "name": f"w{n}", "size": 1}).status_code
        yield client


def test_offset_pages_carry_items_total_page_and_page_size(api: TestClient[Litestar]) -> None:
    body = api.get("/test/widgets/page", params={"page": 2, "page_size": 2}).json()
    assert set(body) == {"items", "total", "page", "page_size"}
    assert [w["name"] for w in body["items"]] == ["w2", "w3"]
    assert (body["total"], body["page"], body["page_size"]) == (5, 2, 2)
    assert api.get("/test/widgets/page").json()["page_size"] == 20


def test_keyset_pages_follow_next_cursor_to_the_end(api: TestClient[Litestar]) -> None:
    names, cursor, pages = [], None, 0
    while True:
        params = {"page_size": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get("/test/widgets/keyset", params=params).json()
        assert set(body) == {"items", "next_cursor"}
        names += [w["name"] for w in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert (names, pages) == (["w0", "w1", "w2", "w3", "w4"], 3)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/test/widgets/page", {"page": 0}, "page"),
        # An offset past PostgreSQL's bigint was a DataError naming no parameter.
        ("/test/widgets/page", {"page": MAX_PAGE + 1}, "page"),
        ("/test/widgets/page", {"page": 10**30}, "page"),
        ("/test/widgets/page", {"page_size": 101}, "page_size"),
        ("/test/widgets/page", {"page_size": "many"}, "page_size"),
        ("/test/widgets/keyset", {"cursor": "not-a-cursor"}, "cursor"),
        ("/test/widgets/keyset", {"cursor": "eyJ4IjogMX0"}, "cursor"),
    ],
)
def test_bad_paging_input_is_400_naming_the_parameter(
    api: TestClient[Litestar], path: str, params: dict[str, object], field: str
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_last_page_number_is_an_empty_page(api: TestClient[Litestar]) -> None:
    response = api.get("/test/widgets/page", params={"page": MAX_PAGE, "page_size": MAX_PAGE_SIZE})
    assert response.status_code == 200, response.text
    assert (response.json()["items"], response.json()["total"]) == ([], 5)
