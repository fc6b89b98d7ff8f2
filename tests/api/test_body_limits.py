"""Body size limits: every route has one no larger than its cap, and a body over it is 413 without being read whole."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from helpers import bearer, register, register_at, serving
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from agentpress.api.config import MAX_ARCHIVE_UPLOAD_BYTES
from agentpress.api.knowledge_base_chunks import MAX_BODY_BYTES as CHUNKS_BODY_BYTES
from agentpress.settings import Settings
from agentpress.web.app import create_app

API = "/api/v1"
MAX_BODY_BYTES: int = Settings.model_fields["max_body_bytes"].default
# The routes allowed more than MAX_BODY_BYTES, by operation_id, with their cap: a new route that takes more
# must be added here, on purpose.
LARGER_LIMITS = {
    "replace_file_chunks": CHUNKS_BODY_BYTES,
    "replace_freeform_text_chunks": CHUNKS_BODY_BYTES,
    "replace_table_chunks": CHUNKS_BODY_BYTES,
    "replace_web_url_chunks": CHUNKS_BODY_BYTES,
    "import_config": MAX_ARCHIVE_UPLOAD_BYTES,
}
# What the streaming client would send if nobody stopped it: far past any route's limit.
ANNOUNCED_BYTES = 50 * 2**20
PIECE_BYTES = 64 * 1024
# Every wait is bounded: a regression fails the test instead of hanging it.
WAIT_SECONDS = 30


def assert_too_large(status: int, body: dict[str, Any]) -> None:
    assert status == 413, body
    assert set(body) == {"status_code", "code", "detail", "errors"}
    assert body["status_code"] == 413
    assert body["code"] == "too_large"


def head(base: str, token: str, framing: str) -> bytes:
    return (
        f"POST {API}/threads HTTP/1.1\r\nHost: {urlsplit(base).netloc}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def read_response(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of the response on the socket: read up to the end of its body."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, received
        received += chunk
    head_bytes, body = received.split(b"\r\n\r\n", 1)
    lines = head_bytes.decode().split("\r\n")
    fields = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(fields["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, body
        body += chunk
    parsed: dict[str, Any] = json.loads(body)
    return int(lines[0].split()[1]), parsed


def thread_body(size: int) -> bytes:
    """A valid thread, its metadata padded so that the JSON is exactly `size` bytes."""
    empty = json.dumps({"name": "big", "metadata": {"pad": ""}}).encode()
    body = json.dumps({"name": "big", "metadata": {"pad": "x" * (size - len(empty))}}).encode()
    assert len(body) == size
    return body


def test_a_json_body_just_over_the_default_limit_is_413(client: TestClient[Litestar]) -> None:
    signed_in = bearer(register(client, "ada@example.com")["token"]) | {"Content-Type": "application/json"}
    response = client.post(f"{API}/threads", content=thread_body(MAX_BODY_BYTES + 1), headers=signed_in)
    assert_too_large(response.status_code, response.json())
    assert str(MAX_BODY_BYTES) in response.json()["detail"]
    # A byte less is taken.
    response = client.post(f"{API}/threads", content=thread_body(MAX_BODY_BYTES), headers=signed_in)
    assert response.status_code == 201, response.text[:200]


def test_a_streamed_body_past_the_limit_is_413_before_the_client_has_sent_it_all(
    make_settings: Callable[..., Settings],
) -> None:
    # A chunked body announces no length: the server can only count what arrives, and stops at the limit.
    piece = f"{PIECE_BYTES:x}\r\n".encode() + b" " * PIECE_BYTES + b"\r\n"
    with serving(create_app(make_settings())) as base:
        token = register_at(base, "owner@example.com")
        host, port = urlsplit(base).hostname, urlsplit(base).port
        assert host is not None and port is not None
        with socket.create_connection((host, port), timeout=WAIT_SECONDS) as sock:
            sock.sendall(head(base, token, "Transfer-Encoding: chunked") + b"1\r\n{\r\n")
            sent = offset = 0
            while sent < ANNOUNCED_BYTES:
                # Stop sending as soon as the server answers; send only what the socket takes without waiting.
                readable, writable, _ = select.select([sock], [sock], [], WAIT_SECONDS)
                if readable:
                    break
                assert writable, "the server neither read nor answered"
                taken = sock.send(piece[offset:])
                offset, sent = (offset + taken) % len(piece), sent + taken
            status, body = read_response(sock)
        assert_too_large(status, body)
        # More than the limit went out (much of it into socket buffers), far from all of it.
        assert MAX_BODY_BYTES < sent < ANNOUNCED_BYTES
        # The service is unharmed.
        assert httpx.get(f"{base}/health", timeout=WAIT_SECONDS).status_code == 200


def test_a_content_length_over_the_limit_is_413_before_any_body_byte_is_sent(
    make_settings: Callable[..., Settings],
) -> None:
    with serving(create_app(make_settings())) as base:
        token = register_at(base, "owner@example.com")
        host, port = urlsplit(base).hostname, urlsplit(base).port
        assert host is not None and port is not None
        with socket.create_connection((host, port), timeout=WAIT_SECONDS) as sock:
            sock.sendall(head(base, token, f"Content-Length: {ANNOUNCED_BYTES}"))
            status, body = read_response(sock)
        assert_too_large(status, body)


def route_handlers(app: Litestar) -> list[HTTPRouteHandler]:
    return [handler for route in app.routes if isinstance(route, HTTPRoute) for handler in route.route_handlers]


def test_every_route_has_a_body_limit_no_larger_than_its_cap(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    handlers = route_handlers(app)
    assert len(handlers) > 50
    operations = {handler.operation_id for handler in handlers}
    assert set(LARGER_LIMITS) <= operations, set(LARGER_LIMITS) - operations
    for handler in handlers:
        # Every handler, not only those taking `data` or `body`: one taking the Request may read it.
        limit = handler.resolve_request_max_body_size()
        cap = LARGER_LIMITS.get(str(handler.operation_id), MAX_BODY_BYTES)
        assert limit is not None, f"{handler.operation_id} takes a body of any size"
        assert limit <= cap, f"{handler.operation_id} takes {limit} bytes, more than its cap of {cap}"
