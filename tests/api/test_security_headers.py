"""Every response carries the security headers, and `Cache-Control: no-store` unless its handler chose another."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from helpers import PASSWORD, bearer, register
from litestar import Litestar, Response, get
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def assert_secured(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code, response.url)


def test_answers_that_carry_a_token_are_not_stored_and_every_answer_has_the_headers(
    client: TestClient[Litestar],
) -> None:
    registered = client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD})
    assert registered.status_code == 201
    signed_in = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200
    me = client.get("/api/v1/auth/me", headers=bearer(signed_in.json()["token"]))
    refused = client.get("/api/v1/auth/me", headers=bearer("not-a-token"))
    invalid = client.post("/api/v1/auth/login", json={"email": "ada@example.com"})
    unmatched = client.get("/api/v1/no-such-route")
    health = client.get("/health")
    assert (me.status_code, refused.status_code, invalid.status_code, unmatched.status_code) == (200, 401, 400, 404)
    for response in (registered, signed_in, me, refused, invalid, unmatched, health):
        assert_secured(response)
        # The service is reached over plain HTTP here (PUBLIC_BASE_URL's default): no HSTS.
        assert "strict-transport-security" not in response.headers


def test_hsts_is_sent_when_the_public_base_url_is_https(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(public_base_url="https://agentpress.example.com")
    with TestClient(app=create_app(settings)) as client:
        token = register(client, "ada@example.com")["token"]
        for response in (client.get("/api/v1/auth/me", headers=bearer(token)), client.get("/api/v1/no-such-route")):
            assert_secured(response)
            assert response.headers["strict-transport-security"] == "max-age=31536000"


@get("/cacheable", sync_to_thread=False)
def cacheable() -> Response[str]:
    return Response("public", headers={"Cache-Control": "public, max-age=60"})


def test_a_handler_that_sets_its_own_cache_control_keeps_it(make_settings: Callable[..., Settings]) -> None:
    with TestClient(app=create_app(make_settings(), route_handlers=[cacheable])) as client:
        response = client.get("/cacheable")
    assert response.headers.get_list("cache-control") == ["public, max-age=60"]
    assert response.headers["x-content-type-options"] == "nosniff"
