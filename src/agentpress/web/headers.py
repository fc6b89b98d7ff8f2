"""Security headers on every response, and `Cache-Control: no-store` unless a handler chose its own."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from agentpress.settings import Settings

# A year: the usual HSTS lifetime. Without includeSubDomains: the service's host says nothing about
# the operator's other hosts, which may not all serve HTTPS.
HSTS = b"max-age=31536000"


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The headers every response carries unless its handler set them."""
    headers = [
        # Answers carry tokens (sign-in, API keys, resets) and private data: no cache, shared or the
        # browser's, may keep them. A handler that sets its own Cache-Control keeps it.
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]
    # Only where the service is reached over HTTPS: sent over plain HTTP (development), browsers ignore it.
    if settings.public_base_url.startswith("https://"):
        headers.append((b"strict-transport-security", HSTS))
    return headers


def security_headers_middleware(app: ASGIApp, settings: Settings) -> ASGIApp:
    """Add security_headers() to every HTTP response, errors and unmatched routes included."""
    defaults = security_headers(settings)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {bytes(name).lower() for name, _ in headers}
                headers += [(name, value) for name, value in defaults if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
