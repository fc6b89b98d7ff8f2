"""The OpenAPI document tells the truth: security schemes, error responses with the one error body, described tags,
request schemas as strict as the validation behind them (strict JSON types, pydantic's patterns and bounds)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from helpers import bearer
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.models.users import EMAIL_PATTERN
from agentpress.services.crypto import MAX_PASSWORD_LENGTH
from agentpress.settings import Settings
from agentpress.web.app import create_app
from agentpress.web.bodies import NUL_REFUSED
from agentpress.web.openapi import API_KEY_SCHEME, SESSION_SCHEME

PUBLIC = {
    "get_health",
    "get_readiness",
    "register",
    "login",
    "request_password_reset",
    "confirm_password_reset",
    "confirm_email_verification",
    "start_oauth_sign_in",
    "finish_oauth_sign_in",
}
# The routes that take an org API key as well as a session token.
KEY_ROUTES_PREFIXES = ("/api/v1/tasks", "/api/v1/threads")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_protected_operations_name_their_schemes_and_public_ones_none(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes[SESSION_SCHEME] == schemes[SESSION_SCHEME] | {"type": "http", "scheme": "bearer"}
    assert schemes[API_KEY_SCHEME] == schemes[API_KEY_SCHEME] | {"type": "http", "scheme": "bearer"}
    public = set()
    for _, path, operation in operations(document):
        security = operation.get("security")
        if security is None:
            public.add(operation["operationId"])
            # A public route answers 401 only for wrong credentials of its own (login's password).
            refusals = {"401", "403"} & set(operation["responses"])
            assert refusals == ({"401"} if operation["operationId"] == "login" else set()), operation["operationId"]
            continue
        assert {SESSION_SCHEME: []} in security, operation["operationId"]
        assert {"401", "403"} <= set(operation["responses"]), operation["operationId"]
        if {API_KEY_SCHEME: []} in security:
            assert path.startswith(KEY_ROUTES_PREFIXES), operation["operationId"]
    assert public == PUBLIC


def test_org_routes_document_x_org_id(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    listing = document["paths"]["/api/v1/agents"]["get"]["parameters"]
    (header,) = [parameter for parameter in listing if parameter["name"] == "X-Org-Id"]
    assert (header["in"], header["required"]) == ("header", False)
    assert header["schema"] | {"type": "string", "format": "uuid"} == header["schema"]
    me = document["paths"]["/api/v1/auth/me"]["get"].get("parameters", [])
    assert "X-Org-Id" not in [parameter["name"] for parameter in me]


def test_every_error_response_has_the_one_error_body(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    for _, _, operation in operations(document):
        errors = {status: response for status, response in operation["responses"].items() if int(status) >= 400}
        for status, response in errors.items():
            if operation["operationId"] == "get_readiness" and status == "503":
                continue  # the readiness report says why
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (operation["operationId"], status)
            assert response["description"], (operation["operationId"], status)
    body = document["components"]["schemas"]["ErrorBody"]
    # request_id: on 5xx bodies only (the request's X-Request-Id), so optional.
    assert set(body["properties"]) == {"status_code", "code", "detail", "errors", "request_id"}
    assert "request_id" not in body.get("required", [])


def test_one_described_tag_per_domain(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    declared = {tag["name"]: tag.get("description") for tag in document["tags"]}
    assert all(declared.values())
    used = {tag for _, _, operation in operations(document) for tag in operation["tags"]}
    assert used == set(declared)
    assert all(len(operation["tags"]) == 1 for _, _, operation in operations(document))


def test_pydantic_rules_are_in_the_document(client: TestClient[Litestar]) -> None:
    schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]
    assert schemas["InvitationCreate"]["properties"]["email"]["pattern"] == EMAIL_PATTERN
    # extra="forbid" models refuse unknown keys, and say so.
    assert schemas["MessagesAppend"]["additionalProperties"] is False


def test_rules_the_handlers_check_are_in_the_document_too(client: TestClient[Litestar]) -> None:
    """Rules a handler or a validator checks, not pydantic's own, that JSON Schema can still say."""
    document = client.get("/schema/openapi.json").json()
    usage = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/analytics/usage"]["get"]["parameters"]}
    assert usage["granularity"]["enum"] == ["day", "week", "month"]
    years = re.compile(usage["to"]["pattern"])
    assert years.match("9998-12-31") and not years.match("9999-01-01")
    crawl_time = document["components"]["schemas"]["KnowledgeBaseWebUrlCreate"]["properties"]["next_crawl_at"]
    years = re.compile(crawl_time["oneOf"][0]["pattern"])
    ends = [f"{year:04d}-01-01T00:00:00Z" for year in (1, 2, 999, 9998, 9999)]
    assert [bool(years.match(end)) for end in ends] == [False, True, True, True, False]
    assert all(years.match(f"{year:04d}-06-01T00:00:00Z") for year in range(2, 9999))


def test_the_least_password_length_in_the_document_is_the_configured_one(
    make_settings: Callable[..., Settings],
) -> None:
    """PASSWORD_MIN_LENGTH is a setting: the document shows it as configured, so that what it allows is accepted."""
    document = create_app(make_settings(password_min_length=12)).openapi_schema.to_schema()
    schemas = document["components"]["schemas"]
    for model in ("Register", "PasswordResetConfirm"):
        assert schemas[model]["properties"]["password"]["minLength"] == 12, model
        assert schemas[model]["properties"]["password"]["maxLength"] == MAX_PASSWORD_LENGTH, model


def test_json_bodies_take_json_types_only(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    """A boolean or an integer sent as a string is refused; UUIDs and date-times, which JSON sends as strings,
    are taken."""
    token = admin["token"]
    refused = client.post("/api/v1/agents", json={"name": "a", "is_enabled": "true"}, headers=bearer(token))
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "is_enabled"
    refused = client.post("/api/v1/agents", json={"name": "a", "max_tokens": "12"}, headers=bearer(token))
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "max_tokens"
    agent = client.post(
        "/api/v1/agents", json={"name": "a", "is_enabled": False, "max_tokens": 12}, headers=bearer(token)
    )
    assert agent.status_code == 201, agent.text
    thread = client.post("/api/v1/threads", json={"agent_id": agent.json()["id"]}, headers=bearer(token))
    assert thread.status_code == 201, thread.text


def test_a_nul_character_is_refused_naming_its_field(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    """PostgreSQL's text and jsonb cannot hold U+0000: a 400 naming where it is, not a 422 naming nothing."""
    sent = {"name": "Support", "description": "a\x00b"}
    refused = client.post("/api/v1/agents", json=sent, headers=bearer(admin["token"]))
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"] == [
        {"field": "description", "message": "may not contain U+0000 (PostgreSQL cannot store it)"}
    ]
    persona = {"name": "Calm", "style": {"tone": ["calm", "x\x00"]}}
    refused = client.post("/api/v1/personas", json=persona, headers=bearer(admin["token"]))
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "style.tone.1"
    # The text `\u0000` (a backslash, then u0000) is no NUL: a code snippet in a description is taken.
    snippet = client.post(
        "/api/v1/agents", json={"name": "Coder", "description": 'end with "\\u0000"'}, headers=bearer(admin["token"])
    )
    assert snippet.status_code == 201, snippet.text
    assert snippet.json()["description"] == 'end with "\\u0000"'


def test_a_nul_in_a_path_or_query_is_refused_on_the_idempotent_routes_too(
    client: TestClient[Litestar], admin: dict[str, Any]
) -> None:
    """The check is a guard, which adds up with a route's own hooks (the idempotent routes' before_request would
    replace an app-wide one)."""
    headers = {**bearer(admin["token"]), "Idempotency-Key": "nul-check"}
    refused = client.post("/api/v1/threads?note=a%00b", json={"name": "n"}, headers=headers)
    assert refused.json()["errors"] == [{"field": "note", "message": NUL_REFUSED}]
    assert refused.json()["errors"] == [
        {"field": "note", "message": "may not contain U+0000 (PostgreSQL cannot store it)"}
    ]


def test_partial_changes_document_the_fields_that_cannot_be_cleared(client: TestClient[Litestar]) -> None:
    schemas = client.get("/schema/openapi.json").json()["components"]["schemas"]
    assert schemas["ThreadUpdate"]["properties"]["name"]["type"] == "string"
    assert schemas["AgentUpdate"]["properties"]["is_enabled"] == {"type": "boolean"}
    assert {"type": "null"} in schemas["AgentUpdate"]["properties"]["description"]["oneOf"]
    assert schemas["ToolUpdate"]["properties"]["name"]["type"] == "string"


def test_allow_lists_the_documented_methods(client: TestClient[Litestar]) -> None:
    """OPTIONS and 405 say in Allow what the document has for the path (OPTIONS /api-keys said POST only)."""
    document = client.get("/schema/openapi.json").json()
    for path in ("/api/v1/api-keys", "/api/v1/agents/{agent_id}"):
        documented = {method.upper() for method in document["paths"][path]} | {"OPTIONS"}
        url = path.replace("{agent_id}", "e3e70682-c209-1cac-a29f-6fbed82c07cd")
        options = client.options(url)
        assert options.status_code == 204
        assert set(options.headers["allow"].split(", ")) == documented
        refused = client.request("TRACE", url)
        assert refused.status_code == 405
        assert set(refused.headers["allow"].split(", ")) == documented


def test_a_nul_character_in_a_query_is_refused_naming_it(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    refused = client.get("/api/v1/users", params={"search": "a\x00b"}, headers=bearer(admin["token"]))
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "search"
