"""Every failure maps to its status with the stable error shape, names the field, and writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from helpers import bearer, register
from litestar import Litestar, get, post
from litestar.exceptions import TooManyRequestsException
from litestar.params import JSONBody
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

# Deeper than msgspec's decoder goes (it raises RecursionError, not DecodeError, past its limit).
TOO_DEEP = 5000


@pytest.fixture
def api(widgets_client: Callable[..., TestClient[Litestar]]) -> Iterator[TestClient[Litestar]]:
    with widgets_client() as client:
        yield client


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    # A 5xx body also names the request (its X-Request-Id), to be quoted when reporting it.
    server_error = {"request_id"} if status >= 500 else set()
    assert set(body) == {"status_code", "code", "detail", "errors"} | server_error
    if server_error:
        assert body["request_id"] == response.headers["x-request-id"]
    assert body["status_code"] == status
    assert body["code"] == code
    assert "Traceback" not in response.text
    if field is not None:
        assert [error["field"] for error in body["errors"]] == [field], body
        assert field in body["detail"]
    return body


def make_owner(api: TestClient[Litestar]) -> str:
    response = api.post("/test/widgets/owners", json={"name": "ada"})
    assert response.status_code == 201, response.text
    owner_id: str = response.json()["id"]
    return owner_id


def widget(owner_id: str, **fields: Any) -> dict[str, Any]:
    return {"owner_id": owner_id, "name": "gear", "size": 3, **fields}


def count_widgets(api: TestClient[Litestar]) -> int:
    return len(api.get("/test/widgets").json())


def test_unique_violation_is_409_naming_the_field(api: TestClient[Litestar]) -> None:
    owner_id = make_owner(api)
    assert api.post("/test/widgets", json=widget(owner_id)).status_code == 201
    body = assert_error(api.post("/test/widgets", json=widget(owner_id, size=4)), 409, "conflict", "name")
    assert body["errors"][0]["message"] == "already exists"
    assert count_widgets(api) == 1


def test_missing_reference_is_422_naming_the_reference(api: TestClient[Litestar]) -> None:
    body = assert_error(api.post("/test/widgets", json=widget(str(uuid.uuid4()))), 422, "invalid_reference", "owner_id")
    assert "owners" in body["errors"][0]["message"]
    assert count_widgets(api) == 0


def test_deleting_a_referenced_row_is_409(api: TestClient[Litestar]) -> None:
    owner_id = make_owner(api)
    api.post("/test/widgets", json=widget(owner_id))
    body = assert_error(api.delete(f"/test/widgets/owners/{owner_id}"), 409, "still_referenced", "id")
    assert "widgets" in body["detail"]


def test_check_violation_is_422_naming_the_column(api: TestClient[Litestar]) -> None:
    owner_id = make_owner(api)
    assert_error(api.post("/test/widgets", json=widget(owner_id, size=0)), 422, "invalid_value", "size")
    assert count_widgets(api) == 0


def test_not_null_violation_is_422_naming_the_column(api: TestClient[Litestar]) -> None:
    owner_id = make_owner(api)
    assert_error(api.post("/test/widgets", json=widget(owner_id, name=None)), 422, "invalid_value", "name")


def test_invalid_text_is_422(api: TestClient[Litestar]) -> None:
    body = assert_error(api.get("/test/widgets/by-text-id/not-a-uuid"), 422, "invalid_value")
    assert "uuid" in body["detail"]


def test_data_exception_out_of_range_is_422(api: TestClient[Litestar]) -> None:
    owner_id = make_owner(api)
    assert_error(api.post("/test/widgets", json=widget(owner_id, size=2**40)), 422, "invalid_value")


def test_request_validation_is_400_naming_the_field(api: TestClient[Litestar]) -> None:
    owner_id = make_owner(api)
    body = assert_error(api.post("/test/widgets", json=widget(owner_id, size="big")), 400, "invalid_request")
    assert any(error["field"] == "size" for error in body["errors"]), body
    missing = assert_error(api.post("/test/widgets", json={"owner_id": owner_id, "name": "x"}), 400, "invalid_request")
    assert any(error["field"] == "size" for error in missing["errors"]), missing
    assert count_widgets(api) == 0


@pytest.mark.parametrize("payload", [b"{not json", b'{"owner_id": ', b"\xff\xfe", b"[1, 2"])
def test_malformed_json_is_400(api: TestClient[Litestar], payload: bytes) -> None:
    response = api.post("/test/widgets", content=payload, headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("payload", [b'{"name": "gear", "size": ' + b"[" * TOO_DEEP, b"[" * TOO_DEEP + b"]" * TOO_DEEP])
def test_json_nested_too_deeply_is_400(api: TestClient[Litestar], payload: bytes) -> None:
    response = api.post("/test/widgets", content=payload, headers={"content-type": "application/json"})
    body = assert_error(response, 400, "invalid_request")
    assert body["detail"] == "malformed body: nested too deeply"
    assert count_widgets(api) == 0


def test_json_nested_too_deeply_is_400_on_a_route_of_the_service(client: TestClient[Litestar]) -> None:
    token = register(client, "ada@example.com")["token"]
    payload = b'{"metadata": {"a": ' + b"[" * TOO_DEEP
    response = client.post(
        "/api/v1/threads", content=payload, headers=bearer(token) | {"content-type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")
    assert client.get("/api/v1/threads", headers=bearer(token)).json()["items"] == []


@post("/test/recursion", status_code=200)
async def recurse(data: JSONBody[dict[str, Any]]) -> None:
    """A bug of the service's own: recursion without end, on a well-formed body."""

    def deeper(depth: int) -> int:
        return deeper(depth + 1) + 1

    deeper(0)


@post("/test/decoding-its-own-json", status_code=200)
async def decode_own_json() -> None:
    """A RecursionError from msgspec, as the body's has, but on JSON the service made: not the client's fault."""
    msgspec.json.decode(b"[" * TOO_DEEP + b"]" * TOO_DEEP)


@get("/test/too-many")
async def too_many() -> None:
    raise TooManyRequestsException(headers={"Retry-After": "7"})


@pytest.fixture
def own_routes(make_settings: Callable[..., Settings]) -> Iterator[TestClient[Litestar]]:
    app = create_app(make_settings(max_body_bytes=1024), route_handlers=[recurse, decode_own_json, too_many])
    with TestClient(app=app) as client:
        yield client


@pytest.mark.parametrize("path", ["/test/recursion", "/test/decoding-its-own-json"])
def test_a_recursion_error_not_in_decoding_the_body_stays_500(own_routes: TestClient[Litestar], path: str) -> None:
    body = assert_error(own_routes.post(path, json={"a": 1}), 500, "internal_error")
    assert body["detail"] == "internal error"


def test_a_body_over_the_route_limit_is_413_too_large(own_routes: TestClient[Litestar]) -> None:
    body = assert_error(own_routes.post("/test/recursion", json={"pad": "x" * 2000}), 413, "too_large")
    assert "1024 bytes" in body["detail"]


def test_litestars_429_is_rate_limited(own_routes: TestClient[Litestar]) -> None:
    response = own_routes.get("/test/too-many")
    assert_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "7"


def test_not_found_is_404_with_the_error_shape(api: TestClient[Litestar]) -> None:
    assert_error(api.get(f"/test/widgets/by-text-id/{uuid.uuid4()}"), 404, "not_found")
    assert_error(api.get("/no/such/route"), 404, "not_found")


def test_failed_step_of_a_transaction_leaves_nothing_behind(api: TestClient[Litestar]) -> None:
    response = api.post("/test/widgets/with-owner", json={"owner_name": "bo", "name": "gear", "size": -1})
    assert_error(response, 422, "invalid_value", "size")
    created = api.post("/test/widgets/with-owner", json={"owner_name": "bo", "name": "gear", "size": 1})
    assert created.status_code == 201
    # The first attempt's owner was rolled back with its widget: deleting the one owner frees it.
    owner_id = created.json()["owner_id"]
    assert assert_error(api.delete(f"/test/widgets/owners/{owner_id}"), 409, "still_referenced")


def test_statement_timeout_is_503_saying_the_query_took_too_long(
    widgets_client: Callable[..., TestClient[Litestar]],
) -> None:
    with widgets_client(statement_timeout_ms=100) as api:
        body = assert_error(api.get("/test/widgets/slow", params={"seconds": 5}), 503, "service_unavailable")
        assert "too long" in body["detail"]
        # The connection that timed out is healthy again for the next request.
        assert api.get("/test/widgets/slow", params={"seconds": 0}).status_code == 200


def test_pool_timeout_is_503_database_unavailable(widgets_client: Callable[..., TestClient[Litestar]]) -> None:
    with widgets_client(pool_min_size=1, pool_max_size=1, pool_timeout=0.2) as api:
        response = api.get("/test/widgets/second-connection")
        body = assert_error(response, 503, "service_unavailable")
        assert body["detail"] == "database unavailable"
        assert response.headers["retry-after"] == "1"
        assert api.get("/test/widgets").status_code == 200


def test_a_missing_required_query_parameter_is_400_naming_it(api: TestClient[Litestar]) -> None:
    body = assert_error(api.get("/test/widgets/slow"), 400, "invalid_request", "seconds")
    assert body["errors"][0]["message"] == "is a required query parameter"
