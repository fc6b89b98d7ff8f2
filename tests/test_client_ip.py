"""The client's address: the socket's peer, or what a trusted proxy says it forwarded for."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request

from agentpress.settings import load_settings
from agentpress.web.clients import UNKNOWN, client_ip

PROXIES = load_settings(trusted_proxies="10.0.0.0/8, fd00::/8").trusted_proxies


def request(peer: str | None, forwarded: list[str]) -> Request[Any, Any, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
        "client": (peer, 1234) if peer is not None else None,
    }
    return Request(scope)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # An untrusted peer is the client, whatever it writes in the header.
        ("203.0.113.9", ["1.2.3.4"], "203.0.113.9"),
        # A trusted proxy's word is taken for the hop it appended...
        ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),
        # ...and only for that hop: what the client wrote further left is not believed.
        ("10.0.0.2", ["1.2.3.4, 198.51.100.7"], "198.51.100.7"),
        # Proxies in a chain are skipped, over several headers too.
        ("10.0.0.2", ["198.51.100.7, 10.1.1.1", "10.2.2.2"], "198.51.100.7"),
        # A trusted proxy that forwards nothing is itself the client.
        ("10.0.0.2", [], "10.0.0.2"),
        # A hop that is not an address stops the walk at the last proxy.
        ("10.0.0.2", ["198.51.100.7, junk"], "10.0.0.2"),
        ("fd00::1", ["2001:db8::5"], "2001:db8::5"),
        ("testclient", ["198.51.100.7"], UNKNOWN),
        (None, [], UNKNOWN),
    ],
)
def test_client_ip(peer: str | None, forwarded: list[str], expected: str) -> None:
    assert client_ip(request(peer, forwarded), PROXIES) == expected


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_ip(request("10.0.0.2", ["198.51.100.7"]), ()) == "10.0.0.2"
