"""Idempotency-Key on the POSTs that create or append: the header, the request's transaction, the stored answer.

A route takes it with `**idempotent()` in its decorator (`idempotent(caller=True)` on a route that takes `caller`);
its handler stays as it was. Sent without the header, the route is what it was. With it (services/idempotency.py
has the rules and why they make a retry write once):

1. the `idempotency` dependency checks the header (400 naming it), then, after authentication, hashes the body
   off the event loop with no connection held;
2. the route's `conn` opens one transaction around the handler, after the key's lock and the look-up: a stored
   answer is replayed from there without running the handler (Replayed), with `Idempotent-Replayed: true`;
3. the handler runs in that transaction (its own transactions become savepoints), and its cache invalidations
   wait for the commit (web/cache.py HeldInvalidations);
4. an after_request hook renders the answer, stores it on the same connection, and the commit that ends the
   `conn` dependency commits the write and the answer together, before the answer is sent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

import anyio
from litestar import MediaType, Request, Response
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency, Provide
from litestar.params import HeaderParameter
from litestar.serialization import get_serializer
from litestar.utils.helpers import get_enum_string_value
from psycopg import AsyncConnection

from agentpress.models.idempotency_keys import StoredAnswer
from agentpress.services.idempotency import HEADER, KeyedRequest, claim, store
from agentpress.web.access import CallerDep, Org
from agentpress.web.cache import HeldInvalidations, hold_invalidations
from agentpress.web.dependencies import Db
from agentpress.web.errors import field_error
from agentpress.web.lifespan import resources
from agentpress.web.openapi import error_response

MAX_KEY_LENGTH = 255
_CHARACTERS = "A-Za-z0-9._:~+/="
# A key as clients make them (UUIDs, ULIDs, base64 and base64url tokens, prefix:id), optionally in double quotes as
# the IETF draft's structured-field string writes it; the quotes are not part of the key.
_KEY = re.compile(rf'(?P<quote>"?)(?P<key>[{_CHARACTERS}-]{{1,{MAX_KEY_LENGTH}}})(?P=quote)')
KEY_PATTERN = rf'^(?:"[{_CHARACTERS}-]{{1,{MAX_KEY_LENGTH}}}"|[{_CHARACTERS}-]{{1,{MAX_KEY_LENGTH}}})$'
KEY_RULE = (
    f"1 to {MAX_KEY_LENGTH} characters of A-Z a-z 0-9 - _ . : ~ + / =, optionally in double quotes "
    "(not part of the key)"
)
REPLAYED_HEADER = "Idempotent-Replayed"
# What a replay repeats of the first answer besides its status and body. The security headers and the like are
# added to every answer, replays too, by the middleware.
REPEATED_HEADERS = ("content-type", "location", "content-location", "etag", "last-modified")

KeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        required=False,
        description=(
            "Makes the request safe to retry: the first successful answer to this key is kept for a day, and a "
            "retry with the same key and body gets it again, unchanged (with `Idempotent-Replayed: true`), "
            "without writing again. The key is the caller's (the user, or the API key) on this path: another "
            "caller's same key is another request. The same key with another body is a 422; while the first "
            f"request with it is in flight, a 409 with `Retry-After`. {KEY_RULE[0].upper()}{KEY_RULE[1:]}."
        ),
        # Documented here, checked by _parse_key: Litestar's own check would name the parameter, not the header.
        schema_extra={"type": "string", "oneOf": None, "pattern": KEY_PATTERN, "maxLength": MAX_KEY_LENGTH + 2},
    ),
]


@dataclass(eq=False)
class Idempotency:
    """One request to an idempotent route: its key (None when sent without one), its transaction's connection while
    the answer is still to be stored, and the cache invalidations waiting for its commit."""

    held: HeldInvalidations
    keyed: KeyedRequest | None = None
    conn: AsyncConnection[Any] | None = field(default=None, repr=False)


IdempotencyDep = NamedDependency[Idempotency]

# Set by the before_request hook in the request's own task, where the handler and the after_request hook run too;
# dependencies may resolve in tasks of their own, which see the same object through copies of the context.
_CURRENT: ContextVar[Idempotency | None] = ContextVar("agentpress_idempotency", default=None)


class Replayed(Exception):
    """Raised by the `conn` dependency of a request whose key has a stored answer: the route answers with it."""

    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("replayed")
        self.answer = answer


def _parse_key(header: str) -> str:
    match = _KEY.fullmatch(header)
    if match is None:
        raise field_error(400, "invalid_request", HEADER, f"must be {KEY_RULE}")
    return match.group("key")


def _sha256(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


async def _begin(_: Request[Any, Any, Any]) -> None:
    """before_request: this request's Idempotency, before any dependency resolves."""
    _CURRENT.set(Idempotency(held=hold_invalidations()))


def _current() -> Idempotency:
    current = _CURRENT.get()
    if current is None:  # only if a route took the dependencies without the hooks
        raise RuntimeError("an idempotent route is declared with **idempotent()")
    return current


async def _keyed(
    request: Request[Any, Any, Any], header: str | None, *, org_id: UUID, principal_id: UUID
) -> Idempotency:
    current = _current()
    if header is None:
        return current
    key = _parse_key(header)
    # The body is read already (Litestar parses `data` first), within the route's body limit. Hashed on a worker
    # thread, as anything a caller sends is: hashlib lets go of the GIL for it.
    request_hash = await anyio.to_thread.run_sync(_sha256, await request.body())
    current.keyed = KeyedRequest(
        org_id=org_id,
        principal_id=principal_id,
        route=f"{request.method} {request.scope['path']}",
        idempotency_key=key,
        request_hash=request_hash,
    )
    return current


async def provide_for_org(request: Request[Any, Any, Any], org: Org, idempotency_key: KeyHeader = None) -> Idempotency:
    """The `idempotency` of a route that takes `org`: the key is the signed-in user's."""
    return await _keyed(request, idempotency_key, org_id=org.org_id, principal_id=org.user.id)


async def provide_for_caller(
    request: Request[Any, Any, Any], caller: CallerDep, idempotency_key: KeyHeader = None
) -> Idempotency:
    """The `idempotency` of a route that takes `caller`: the key is the API key's, or the signed-in user's."""
    if caller.key is not None:
        principal_id = caller.key.id
    elif caller.org is not None:
        principal_id = caller.org.user.id
    else:
        raise RuntimeError("a Caller is an API key or a signed-in user")
    return await _keyed(request, idempotency_key, org_id=caller.org_id, principal_id=principal_id)


async def provide_connection(db: Db, idempotency: IdempotencyDep, state: State) -> AsyncIterator[AsyncConnection[Any]]:
    """The `conn` of an idempotent route: as the app's without a key; with one, in the key's transaction."""
    keyed = idempotency.keyed
    if keyed is None:
        async with db.connection() as conn:
            yield conn
        return
    held = idempotency.held
    try:
        async with db.connection() as conn, conn.transaction():
            stored = await claim(conn, keyed)
            if stored is not None:
                raise Replayed(stored)
            idempotency.conn = conn
            held.holding = True
            yield conn
    finally:
        idempotency.conn = None
        held.holding = False
        # After the commit (or the rollback, or a commit whose outcome is unknown: forgetting costs a miss).
        await resources(state).cache.invalidate(*held.keys)


async def _store_answer(response: Response[Any]) -> Response[Any]:
    """after_request: render a successful answer, store it in the open transaction, and answer with those bytes."""
    current = _CURRENT.get()
    status_code = response.status_code or 200
    if current is None or current.keyed is None or current.conn is None or not 200 <= status_code < 300:
        return response
    media_type = get_enum_string_value(response.media_type or MediaType.JSON)
    body = response.render(response.content, media_type, get_serializer(response.response_type_encoders))
    headers = {name.lower(): value for name, value in response.headers.items()}
    repeated = {name: headers[name] for name in REPEATED_HEADERS if name in headers} | {"content-type": media_type}
    await store(current.conn, current.keyed, status_code=status_code, headers=repeated, body=body)
    current.conn = None
    return Response(
        content=body,
        status_code=status_code,
        headers=response.headers,
        media_type=media_type,
        cookies=response.cookies,
        background=response.background,
    )


def _replay(_: Request[Any, Any, Any], exc: Replayed) -> Response[bytes]:
    headers = dict(exc.answer.headers)
    media_type = headers.pop("content-type", "application/json")
    return Response(
        content=exc.answer.body,
        status_code=exc.answer.status_code,
        headers={**headers, REPLAYED_HEADER: "true"},
        media_type=media_type,
    )


def idempotent(*, caller: bool = False) -> dict[str, Any]:
    """The decorator arguments of a route that takes Idempotency-Key (`caller=True`: a route that takes `caller`)."""
    return {
        "before_request": _begin,
        "after_request": _store_answer,
        "dependencies": {
            "idempotency": Provide(provide_for_caller if caller else provide_for_org),
            "conn": Provide(provide_connection),
        },
        "exception_handlers": {Replayed: _replay},
        "response_headers": [
            ResponseHeader(
                name=REPLAYED_HEADER,
                documentation_only=True,
                required=False,
                description=f"`true` on a retry's answer: the stored answer to its {HEADER}, replayed",
            )
        ],
        # Beside what other routes answer with these statuses, what the key adds.
        "responses": {
            409: error_response(
                409,
                f"A request with the same {HEADER} is in flight (`idempotency_key_in_flight`, with `Retry-After`: "
                "retry then), or the request conflicts with what exists (a duplicate, a cap reached)",
            ),
            422: error_response(
                422,
                f"The {HEADER} was used within the last day with another body "
                "(`idempotency_key_reused`), or the body refers to a row that does not exist or breaks a rule "
                "only the database checks",
            ),
        },
    }
