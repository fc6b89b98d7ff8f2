"""The OpenAPI document's contract, filled in once for every route: its security, its error responses, its tags.

Each route says what it needs through its handler's parameters and dependencies (`current_user`, `org`, `caller`,
`limits`, a connection, a body, path parameters); ErrorContract reads them as Litestar registers the route and
gives the operation the security schemes it accepts and every error status it can answer, each with ErrorBody.
A route that can answer something these rules do not see declares it with `responses=` (kept as declared).
"""

from __future__ import annotations

from litestar import Response
from litestar.enums import HttpMethod, MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme, Tag
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import Scope

from agentpress.web.errors import ErrorBody

SESSION_SCHEME = "session"
API_KEY_SCHEME = "apiKey"

SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    SESSION_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="session token",
        description="`Authorization: Bearer <token>`, the token of `POST /api/v1/auth/login` or `/auth/register`.",
    ),
    API_KEY_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="apk.<secret>",
        description=(
            "`Authorization: Bearer apk.<secret>`, an org API key (`POST /api/v1/api-keys`), for workers: taken by "
            "the task queue and thread message routes only; every other route answers a key 403."
        ),
    ),
}

TAGS: tuple[Tag, ...] = (
    Tag(name="health", description="Liveness and readiness probes, for load balancers and orchestrators."),
    Tag(name="auth", description="Registration, sign-in, sessions, password resets, email verification, OAuth."),
    Tag(name="orgs", description="Orgs, their members and roles, invitations."),
    Tag(name="api keys", description="An org's API keys, for workers that call the task and message routes."),
    Tag(name="users", description="Platform users, for platform admins."),
    Tag(name="agents", description="Agents and their versions: every change is a new version."),
    Tag(name="personas", description="Personas agents speak as."),
    Tag(name="tools", description="Tools agents may call."),
    Tag(name="knowledge bases", description="Knowledge bases, their sources and chunks, and search over them."),
    Tag(name="models", description="Model providers (with their encrypted keys) and their models."),
    Tag(name="conversations", description="Threads, their messages and feedback, and message search."),
    Tag(name="tasks", description="The org's work queue: tasks claimed, heartbeated and finished by workers."),
    Tag(name="schedules", description="Cron schedules that queue tasks."),
    Tag(name="analytics", description="Usage, agents and tools reports over daily rollups."),
    Tag(name="config", description="The desktop configuration layout, exported and imported as an archive."),
)

# What each error status means, for every operation that can answer it.
DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed: a parameter, a header or the body fails validation (`errors` names each field)",
    401: "No valid bearer token (with `WWW-Authenticate: Bearer`)",
    403: "The caller may not do this: their role, a platform guest, an API key on a route for signed-in users",
    404: "A resource in the path, or the org named by `X-Org-Id`, does not exist or is another org's",
    409: "A conflict with what exists: a duplicate (`conflict`), a row still referenced, a cap reached",
    413: "The body is over this route's limit",
    422: (
        "The request is well formed but refers to a row that does not exist (`invalid_reference`) or breaks a rule "
        "only the database checks (`invalid_value`)"
    ),
    429: "A rate limit reached (with `Retry-After`)",
    502: "An upstream provider failed; what it said is in the log, under the request id",
    503: "The database is unavailable or too slow, or the service is busy (with `Retry-After`)",
}

# Dependencies that identify the caller: each takes a session token; `caller` takes an org API key as well.
_USER_DEPENDENCIES = frozenset({"current_user", "org"})
_ORG_DEPENDENCIES = frozenset({"org", "caller"})
# Dependencies that reach the database or a bounded pool of work: 503 when it is unavailable or full.
_UNAVAILABLE_DEPENDENCIES = frozenset({"db", "conn", "analytics_conn", "passwords", "current_user", "org", "caller"})
# Litestar's reserved kwargs: what they give comes from the connection, not from a parameter that may fail to parse.
_RESERVED_KWARGS = frozenset({"self", "request", "socket", "state", "scope", "headers", "cookies", "query"})
_WRITES = frozenset({HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE})


def dependency_names(handler: HTTPRouteHandler) -> set[str]:
    """The names the handler depends on, directly or through its dependencies' own parameters."""
    provided = handler.resolve_dependencies()
    names: set[str] = set()
    pending = list(handler.parsed_fn_signature.parameters)
    while pending:
        name = pending.pop()
        if name in names:
            continue
        names.add(name)
        if name in provided:
            pending.extend(provided[name].parsed_fn_signature.parameters)
    return names


def security_of(names: set[str]) -> list[SecurityRequirement] | None:
    """The schemes a route accepts: none for a public route, either for one that takes `caller`."""
    if "caller" in names:
        return [{SESSION_SCHEME: []}, {API_KEY_SCHEME: []}]
    if names & _USER_DEPENDENCIES:
        return [{SESSION_SCHEME: []}]
    return None


def error_statuses(handler: HTTPRouteHandler, names: set[str], *, has_path_parameters: bool) -> set[int]:
    """The error statuses a route can answer, from what it declares."""
    # Parameters the request supplies (path, query, header, body), which may fail to parse.
    parameters = names - handler.resolve_dependencies().keys() - _RESERVED_KWARGS
    has_body = bool(parameters & {"data", "body"})
    protected = security_of(names) is not None
    writes = bool(set(handler.http_methods) & _WRITES)
    statuses: set[int] = set()
    if parameters or names & _ORG_DEPENDENCIES:
        statuses.add(400)
    if protected:
        statuses |= {401, 403}
    if has_path_parameters or names & _ORG_DEPENDENCIES:
        statuses.add(404)
    if writes and (has_body or has_path_parameters):
        statuses.add(409)
    if has_body:
        statuses.add(413)
    if parameters:
        # A value the database refuses (a check, a missing row), or a rule across fields (`from` after `to`).
        statuses.add(422)
    if "limits" in names:
        statuses.add(429)
    if names & _UNAVAILABLE_DEPENDENCIES:
        statuses.add(503)
    return statuses


def error_response(status: int, description: str | None = None) -> ResponseSpec:
    """An error answer in the document; a route declares one these rules miss with `responses=`."""
    return ResponseSpec(
        data_container=ErrorBody, description=description or DESCRIPTIONS[status], generate_examples=False
    )


def answer_options_for(route: HTTPRoute) -> None:
    """Litestar's OPTIONS answer lists its route's methods in Allow, but the handler it makes closes over the first
    route of the path, and a path's route is made again as its handlers are registered: `OPTIONS /api-keys` said
    `Allow: OPTIONS, POST`, without GET. The handler answers for the route the app serves."""

    def options_handler(scope: Scope) -> Response[None]:
        allow = ", ".join(sorted(route.methods))
        return Response(content=None, status_code=204, headers={"Allow": allow}, media_type=MediaType.TEXT)

    for handler in route.route_handlers:
        if handler.http_methods == {HttpMethod.OPTIONS} and handler.handler_name == "options_handler":
            # The one way to rebind Litestar's own handler; it calls a sync one as it is (sync_to_thread=False).
            handler._fn = options_handler  # type: ignore[assignment]


class ErrorContract(ReceiveRoutePlugin):
    """Gives every operation its security and its error responses as Litestar registers its route."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        answer_options_for(route)
        for handler in route.route_handlers:
            names = dependency_names(handler)
            if handler.security is None:
                handler.security = security_of(names)
            declared = dict(handler.responses or {})
            statuses = error_statuses(handler, names, has_path_parameters=bool(route.path_parameters))
            handler.responses = {status: error_response(status) for status in sorted(statuses)} | declared


def components() -> Components:
    return Components(security_schemes=dict(SECURITY_SCHEMES))
