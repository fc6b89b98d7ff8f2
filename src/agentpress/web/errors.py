"""Every error as one JSON shape, and the mapping from database and request failures to HTTP statuses."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import psycopg
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.base_exceptions import SerializationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.serialization import msgspec_hooks
from psycopg import errors as pg
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field

from agentpress.web.logs import current_request_id

log = logging.getLogger("agentpress.web.errors")

# PostgreSQL's detail for key violations: `Key (org_id, slug)=(...) already exists.`
_KEY_COLUMNS = re.compile(r"Key \((?P<columns>[^)]*)\)=")
# Litestar's words for a required query, header, cookie or path parameter that was not sent.
_MISSING_PARAMETER = re.compile(r"Missing required (?P<where>\w+) parameter '(?P<name>[^']+)'")
_REFERENCED_TABLE = re.compile(r'table "(?P<table>[^"]+)"')
# Litestar decodes request bodies in these; they turn msgspec's DecodeError into a SerializationException but
# let through the RecursionError msgspec raises (from C, so with no frame of its own) for a body nested
# deeper than its limit. A RecursionError whose innermost frame is one of them is about the body.
_BODY_DECODERS = frozenset({msgspec_hooks.decode_json.__code__, msgspec_hooks.decode_msgpack.__code__})
_HTTP_CODES = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
}


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    status_code: int
    code: str
    detail: str
    errors: list[FieldError] = []
    request_id: str | None = Field(
        default=None,
        description="In 5xx bodies only: the request's X-Request-Id, to quote when reporting the failure",
    )


class ApiError(Exception):
    """Raised by controllers for an expected failure, such as a resource that does not exist."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.body = ErrorBody(status_code=status_code, code=code, detail=detail, errors=errors or [])
        self.headers = headers


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def unauthorized(detail: str = "sign in: a valid bearer token is required") -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def forbidden(detail: str) -> ApiError:
    return ApiError(403, "forbidden", detail)


def error_response(body: ErrorBody, headers: Mapping[str, str] | None = None) -> Response[dict[str, Any]]:
    if body.status_code >= 500 and body.request_id is None:
        body = body.model_copy(update={"request_id": current_request_id()})
    content = body.model_dump(exclude_none=True)
    return Response(content=content, status_code=body.status_code, media_type=MediaType.JSON, headers=headers)


def _unavailable(detail: str) -> Response[dict[str, Any]]:
    body = ErrorBody(status_code=503, code="service_unavailable", detail=detail)
    return error_response(body, headers={"Retry-After": "1"})


def _key_columns(exc: psycopg.Error) -> str | None:
    """The columns of a violated key, as the client knows them: `Key (org_id, name)` is about `name`.

    org_id leads the keys of tenant tables, but the client never sends it: it is their org.
    """
    match = _KEY_COLUMNS.search(exc.diag.message_detail or "")
    if not match:
        return None
    columns = [column.strip() for column in match.group("columns").split(",")]
    return ", ".join([column for column in columns if column != "org_id"] or columns)


def _check_field(exc: psycopg.Error) -> str:
    # PostgreSQL names a column's check `<table>_<column>_check`; a named table check keeps its name.
    constraint, table = exc.diag.constraint_name or "check", exc.diag.table_name or ""
    return constraint.removeprefix(f"{table}_").removesuffix("_check") or constraint


def field_error(status_code: int, code: str, field: str, message: str) -> ApiError:
    """An error about one field: `detail` reads "<field> <message>"."""
    return ApiError(status_code, code, f"{field} {message}", [FieldError(field=field, message=message)])


def _constraint_error(exc: psycopg.Error) -> ApiError | None:
    """The client's share of a violated constraint, naming the column; None for other errors."""
    diag = exc.diag
    if isinstance(exc, pg.UniqueViolation | pg.ExclusionViolation):
        return field_error(409, "conflict", _key_columns(exc) or diag.constraint_name or "value", "already exists")
    if isinstance(exc, pg.ForeignKeyViolation):
        field = _key_columns(exc) or diag.constraint_name or "reference"
        table_match = _REFERENCED_TABLE.search(diag.message_detail or "")
        table = table_match.group("table") if table_match else "row"
        if "is still referenced" in (diag.message_detail or ""):
            return field_error(409, "still_referenced", field, f"is still referenced from {table}")
        return field_error(422, "invalid_reference", field, f"refers to a {table} row that does not exist")
    if isinstance(exc, pg.NotNullViolation):
        return field_error(422, "invalid_value", diag.column_name or "value", "is required")
    if isinstance(exc, pg.CheckViolation):
        return field_error(422, "invalid_value", _check_field(exc), f"violates the rule {diag.constraint_name}")
    if isinstance(exc, pg.ProgramLimitExceeded):
        # Class 54: a value too big for PostgreSQL, e.g. a text too long to index for search.
        return ApiError(422, "invalid_value", exc.diag.message_primary or "a value is too large")
    if isinstance(exc, pg.DataError):
        # Class 22: invalid text for a type, numbers out of range, strings too long.
        detail = diag.message_primary or "invalid value"
        errors = [FieldError(field=diag.column_name, message=detail)] if diag.column_name else []
        return ApiError(422, "invalid_value", detail, errors)
    return None


def _database_error(exc: psycopg.Error) -> Response[dict[str, Any]]:
    """Map a failed statement to a status; anything not recognised is logged and answered with 500."""
    client_error = _constraint_error(exc)
    if client_error is not None:
        return error_response(client_error.body)
    if isinstance(exc, pg.QueryCanceled):
        return _unavailable("the query took too long and was cancelled; try again or narrow the request")
    if isinstance(exc, psycopg.OperationalError):
        # The connection broke or the server is shutting down or starting up.
        log.warning("database unavailable: %s", exc)
        return _unavailable("database unavailable")
    log.exception("unexpected database error", exc_info=exc)
    return error_response(ErrorBody(status_code=500, code="internal_error", detail="internal error"))


def _validation_error(exc: ValidationException) -> Response[dict[str, Any]]:
    errors = [
        FieldError(field=str(item.get("key") or item.get("source") or "body"), message=str(item.get("message")))
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    missing = _MISSING_PARAMETER.match(str(exc.detail))
    if not errors and missing:
        errors = [FieldError(field=missing.group("name"), message=f"is a required {missing.group('where')} parameter")]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
    return error_response(ErrorBody(status_code=400, code="invalid_request", detail=detail, errors=errors))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, RequestEntityTooLarge):
        return _too_large(request)
    body = ErrorBody(
        status_code=exc.status_code, code=_HTTP_CODES.get(exc.status_code, "error"), detail=str(exc.detail)
    )
    return error_response(body, headers=exc.headers)


def _too_large(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Litestar's 413 for a body over the route's request_max_body_size, saying what the limit is."""
    handler = request.scope.get("route_handler")
    limit = handler.resolve_request_max_body_size() if isinstance(handler, HTTPRouteHandler) else None
    detail = f"the body is over this route's limit of {limit} bytes" if limit else "the body is too large"
    return error_response(ErrorBody(status_code=413, code="too_large", detail=detail))


def _innermost(traceback: TracebackType | None) -> TracebackType | None:
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback


def _body_too_deep(exc: RecursionError) -> bool:
    """Whether the recursion limit was hit decoding a request body, not in the service's own code."""
    innermost = _innermost(exc.__traceback__)
    return innermost is not None and innermost.tb_frame.f_code in _BODY_DECODERS


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The one exception handler: known failures get their status, anything else a bare 500."""
    if isinstance(exc, ApiError):
        return error_response(exc.body, headers=exc.headers)
    if isinstance(exc, ValidationException):
        return _validation_error(exc)
    if isinstance(exc, SerializationException):
        return error_response(ErrorBody(status_code=400, code="invalid_request", detail=f"malformed body: {exc}"))
    if isinstance(exc, HTTPException):
        return _http_error(request, exc)
    if isinstance(exc, RecursionError) and _body_too_deep(exc):
        return error_response(
            ErrorBody(status_code=400, code="invalid_request", detail="malformed body: nested too deeply")
        )
    if isinstance(exc, PoolTimeout):
        log.warning("no database connection available: %s", exc)
        return _unavailable("database unavailable")
    if isinstance(exc, psycopg.Error):
        return _database_error(exc)
    log.exception("unhandled error", exc_info=exc)
    return error_response(ErrorBody(status_code=500, code="internal_error", detail="internal error"))


EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request[Any, Any, Any], Exception], Response[Any]]] = {
    Exception: handle_exception,
}
