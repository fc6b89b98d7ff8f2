"""Who is calling: the client's IP address, believing X-Forwarded-For only from TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from litestar import Request

from agentpress.settings import Network

FORWARDED_FOR = "x-forwarded-for"
UNKNOWN = "unknown"


def client_ip(request: Request[Any, Any, Any], trusted_proxies: Sequence[Network]) -> str:
    """The socket's peer; when that is a trusted proxy, the address it says it forwarded for.

    X-Forwarded-For lists each hop's client, left to right, each proxy appending the address it took the
    request from. Read from the right, skipping trusted proxies: the first other address is the one a
    trusted proxy saw, and whatever the caller wrote further left cannot be believed.
    """
    peer = _parse(request.client.host if request.client else None)
    if peer is None:
        return UNKNOWN
    if not _trusted(peer, trusted_proxies):
        return str(peer)
    hops = [hop.strip() for header in request.headers.getall(FORWARDED_FOR, []) for hop in header.split(",")]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # a hop that is not an address: nothing left of it can be believed either
        if not _trusted(address, trusted_proxies):
            return str(address)
        peer = address
    return str(peer)


def _parse(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value) if value else None
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address in network for network in proxies)
