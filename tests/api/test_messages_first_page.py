"""The first page of a thread's messages, served from the rendered entry (repositories.messages.page_from_rendered):
byte for byte the page the database gives, at every page size, with a next_cursor that reads on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import bearer, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

THREADS = "/api/v1/threads"


@pytest.fixture
def uncached(make_settings: Callable[..., Settings]) -> Iterator[TestClient[Litestar]]:
    """The same service without Redis: every page read from PostgreSQL and rendered by Litestar."""
    with TestClient(app=create_app(make_settings(redis_url="off"))) as client:
        yield client


def page(client: TestClient[Litestar], url: str, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_every_page_size_of_the_cached_first_page_is_the_databases(
    client: TestClient[Litestar], uncached: TestClient[Litestar]
) -> None:
    headers = bearer(register(client, "ada@example.com")["token"])
    thread = client.post(THREADS, json={"name": "pages"}, headers=headers).json()
    url = f"{THREADS}/{thread['id']}/messages"
    assert page(client, url, headers) == page(uncached, url, headers) == {"items": [], "next_cursor": None}
    texts = [f"message {n}" for n in range(7)]
    body = {"messages": [{"role": "user", "parts": [{"type": "text", "text": f'{text}\n"quoted"'}]} for text in texts]}
    assert client.post(url, json=body, headers=headers).status_code == 201
    for size in range(1, 9):
        cached = page(client, url, headers, page_size=size)
        assert cached == page(client, url, headers, page_size=size)  # the second one is a hit
        assert cached == page(uncached, url, headers, page_size=size)
        assert len(cached["items"]) == min(size, 7)
        if size < 7:
            rest = page(client, url, headers, page_size=10, cursor=cached["next_cursor"])
            assert [m["id"] for m in cached["items"] + rest["items"]] == [
                m["id"] for m in page(uncached, url, headers, page_size=10)["items"]
            ]
        else:
            assert cached["next_cursor"] is None
