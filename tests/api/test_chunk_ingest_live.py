"""Chunk ingest on a live server: slow uploads hold no pool connection, an oversize body is 413 unread."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import psycopg
from helpers import bearer, register_at, serving

from agentpress.api.knowledge_base_chunks import MAX_BODY_BYTES
from agentpress.settings import Settings
from agentpress.web.app import create_app

API = "/api/v1"
SLOW_CLIENTS = 12
# Every wait is bounded: a regression fails the test instead of hanging it.
WAIT_SECONDS = 30


def source_in_default_org(database_url: str) -> tuple[str, str]:
    """A knowledge base of the default org and a file in it: (kb_id, file_id)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "WITH kb AS (INSERT INTO knowledge_bases (org_id, name) SELECT id, 'Docs' FROM orgs WHERE is_default "
            "RETURNING id, org_id) "
            "INSERT INTO knowledge_base_files (org_id, knowledge_base_id, name, storage_uri) "
            "SELECT org_id, id, 'guide.pdf', 's3://bucket/guide.pdf' FROM kb "
            "RETURNING knowledge_base_id::text, id::text"
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def request_head(base: str, path: str, token: str, length: int) -> bytes:
    host = urlsplit(base).netloc
    return (
        f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


def read_status(sock: socket.socket) -> int:
    """The status code of the response on the socket, read until the server closes it."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    status_line = received.split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def test_a_dozen_slow_chunk_uploads_leave_the_pool_to_other_requests(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    # The service's default pool (the tests' settings use a smaller one): fewer connections than slow clients.
    settings = make_settings(pool_max_size=Settings.model_fields["pool_max_size"].default)
    assert settings.pool_max_size < SLOW_CLIENTS
    kb_id, file_id = source_in_default_org(database_url)
    path = f"{API}/knowledge-bases/{kb_id}/files/{file_id}/chunks"
    # A valid body (no chunks), padded with whitespace to 4 KB, sent a few bytes at a time.
    body = json.dumps({"chunks": []}).encode().ljust(4096)
    pieces = [body[start : start + 64] for start in range(0, len(body), 64)]
    halfway = len(pieces) // 2
    all_sending = threading.Barrier(SLOW_CLIENTS + 1, timeout=WAIT_SECONDS)
    finish = threading.Event()
    statuses: list[int] = []
    failures: list[BaseException] = []

    with serving(create_app(settings)) as base:
        token = register_at(base, "owner@example.com", admin_in=database_url)
        host, port = urlsplit(base).hostname, urlsplit(base).port
        assert host is not None and port is not None

        def trickle() -> None:
            try:
                with socket.create_connection((host, port), timeout=WAIT_SECONDS) as sock:
                    sock.sendall(request_head(base, path, token, len(body)))
                    for piece in pieces[:halfway]:
                        sock.sendall(piece)
                        time.sleep(0.03)
                    all_sending.wait()
                    # Still trickling while the other requests are made, and never done before they are.
                    for piece in pieces[halfway:-1]:
                        sock.sendall(piece)
                        time.sleep(0.03)
                    assert finish.wait(WAIT_SECONDS)
                    sock.sendall(pieces[-1])
                    statuses.append(read_status(sock))
            except BaseException as exc:  # reported by the test thread
                failures.append(exc)

        threads = [threading.Thread(target=trickle) for _ in range(SLOW_CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            all_sending.wait()
            # Every slow client is mid-body: authenticated requests that need the database still get a connection.
            with httpx.Client(base_url=base, headers=bearer(token), timeout=WAIT_SECONDS) as other:
                answers = [other.get(f"{API}/auth/me") for _ in range(5)]
                answers += [other.get(f"{API}/knowledge-bases") for _ in range(5)]
            assert [answer.status_code for answer in answers] == [200] * 10, [answer.text for answer in answers]
            assert statuses == []  # none of the uploads had finished meanwhile
        finally:
            finish.set()
            for thread in threads:
                thread.join(timeout=WAIT_SECONDS)
    assert not failures, failures
    assert statuses == [200] * SLOW_CLIENTS


def test_a_body_over_the_limit_is_413_before_it_is_sent(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    kb_id, file_id = source_in_default_org(database_url)
    path = f"{API}/knowledge-bases/{kb_id}/files/{file_id}/chunks"
    with serving(create_app(make_settings())) as base:
        token = register_at(base, "owner@example.com", admin_in=database_url)
        host, port = urlsplit(base).hostname, urlsplit(base).port
        assert host is not None and port is not None
        # Only the head is sent, announcing a byte more than the limit: the answer comes without the body.
        with socket.create_connection((host, port), timeout=WAIT_SECONDS) as sock:
            sock.sendall(request_head(base, path, token, MAX_BODY_BYTES + 1))
            assert read_status(sock) == 413
