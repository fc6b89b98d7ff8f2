"""Pydantic bodies: validated as strict JSON, and documented with every rule pydantic applies to them; no U+0000.

Litestar's own pydantic plugin validates a body in Python mode after decoding it, where `"true"` is a boolean
and `"12"` an integer; strict Python mode would refuse a UUID or a date-time sent as a string, which JSON can only
send that way. JSON mode with strict=True is what the document says: JSON's own types, with strings only for
the types JSON lacks. Its schema of a model also drops some of pydantic's rules (a pattern, a bound inside
`X | None`, `extra="forbid"`), so that the document allowed what validation refused: they are copied from
pydantic's own JSON schema of the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import msgspec
from litestar._openapi.schema_generation import SchemaCreator
from litestar._signature.types import ExtendedMsgSpecValidationError
from litestar.connection import ASGIConnection
from litestar.openapi.spec import Schema
from litestar.plugins.pydantic import PydanticDIPlugin, PydanticInitPlugin, PydanticSchemaPlugin
from litestar.plugins.pydantic.utils import is_pydantic_model_class
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.typing import FieldDefinition
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema

from agentpress.settings import Settings
from agentpress.web.errors import field_error

# JSON Schema keywords pydantic sets from Field(...) constraints, and the Schema attributes they fill.
_CONSTRAINTS = {
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "multipleOf": "multiple_of",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "enum": "enum",
}


def _integral(value: Any) -> Any:
    """Floats with no fraction as integers, as JSON Schema counts them (`2.0` is an integer there)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    return value


def _refuses_integral_float(exc: ValidationError) -> bool:
    return any(
        error["type"] == "int_type" and isinstance(error.get("input"), float) and error["input"].is_integer()
        for error in exc.errors()
    )


NUL_REFUSED = "may not contain U+0000 (PostgreSQL cannot store it)"


def nul_at(value: Any, path: str = "") -> str | None:
    """Where the first string holding U+0000 is (a key or a value), as a dotted path."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = enumerate(value) if isinstance(value, list) else value.items() if isinstance(value, dict) else ()
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return where
        found = nul_at(item, where)
        if found is not None:
            return found
    return None


# The types each keyword applies to.
_NUMBERS, _STRINGS, _ARRAYS = frozenset({"number", "integer"}), frozenset({"string"}), frozenset({"array"})
_BOUNDED = {
    **dict.fromkeys(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), _NUMBERS),
    **dict.fromkeys(("pattern", "minLength", "maxLength"), _STRINGS),
    **dict.fromkeys(("minItems", "maxItems"), _ARRAYS),
    "enum": _NUMBERS | _STRINGS,
}


def decode_strict_json(model: type[BaseModel], value: Any) -> BaseModel:
    """A body Litestar decoded from JSON, validated as that JSON: no string taken for a boolean or a number.

    No string may hold U+0000: PostgreSQL's text and jsonb cannot, and would answer a 422 naming nothing.
    """
    encoded = msgspec.json.encode(value)
    # The bytes are only a cheap first look: an escaped backslash before "u0000" (the text `\u0000`) matches too.
    if b"\\u0000" in encoded and (where := nul_at(value)) is not None:
        raise field_error(400, "invalid_request", where, NUL_REFUSED)
    try:
        try:
            return model.model_validate_json(encoded, strict=True)
        except ValidationError as exc:
            # Rare, so paid only then: strict pydantic refuses 2.0 for an int, JSON Schema does not.
            if not _refuses_integral_float(exc):
                raise
            return model.model_validate_json(msgspec.json.encode(_integral(value)), strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_input=not model.model_config.get("hide_input_in_errors", False))
        raise ExtendedMsgSpecValidationError(errors=cast("list[dict[str, Any]]", errors)) from exc


class StrictJsonInitPlugin(PydanticInitPlugin):
    @classmethod
    def decoders(cls, validate_strict: bool = False) -> list[tuple[Callable[[Any], bool], Callable[[Any, Any], Any]]]:
        return [(is_pydantic_model_class, decode_strict_json), *super().decoders(validate_strict)]


def _branches(schema: Schema) -> list[Schema]:
    """The schema itself, or its alternatives (`X | None` is a oneOf)."""
    return [branch for branch in schema.one_of or [schema] if isinstance(branch, Schema)]


def _pydantic_branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return list(schema.get("anyOf") or schema.get("oneOf") or [schema])


# A field's json_schema_extra may point at one of the document's own components (models/messages.py shows a
# message's parts so), which pydantic has no definition of and refuses to resolve (KeyError). While pydantic
# makes the schema the rules are read from, such a reference is parked under an absolute URL, which pydantic
# leaves alone; the rules copied are constraints only, never references.
_DOCUMENT_REF = "#/components/schemas/"
_PARKED_REF = "https://document.invalid/components/schemas/"


class _RulesSchema(GenerateJsonSchema):
    """pydantic's JSON schema of a model, for its constraints, with references into the document parked."""

    def generate_inner(self, schema: CoreSchema) -> JsonSchemaValue:
        return cast(JsonSchemaValue, _park_document_refs(super().generate_inner(schema)))


def _park_document_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (_PARKED_REF + item[len(_DOCUMENT_REF) :])
            if key == "$ref" and isinstance(item, str) and item.startswith(_DOCUMENT_REF)
            else _park_document_refs(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_park_document_refs(item) for item in value]
    return value


def copy_constraints(target: Schema, source: dict[str, Any]) -> None:
    """Pydantic's constraints on one property, onto Litestar's schema of it, branch by matching type. A bound given
    to the whole property (Field(json_schema_extra=...), for a rule the database enforces) goes to its branches
    of the type it bounds."""
    for branch in _branches(target):
        kind = str(getattr(branch.type, "value", branch.type))
        for keyword, attribute in _CONSTRAINTS.items():
            if keyword in source and kind in _BOUNDED[keyword] and getattr(branch, attribute) is None:
                setattr(branch, attribute, source[keyword])
        for rules in _pydantic_branches(source):
            if rules.get("type") is not None and str(rules["type"]) != str(getattr(branch.type, "value", branch.type)):
                continue
            for keyword, attribute in _CONSTRAINTS.items():
                if keyword in rules and getattr(branch, attribute) is None:
                    setattr(branch, attribute, rules[keyword])
            if isinstance(branch.items, Schema) and isinstance(rules.get("items"), dict):
                copy_constraints(branch.items, rules["items"])


def without_null(prop: Schema) -> Schema:
    """The property's schema with null taken out: `X | None` is a oneOf, or a type list with an enum."""
    if prop.one_of:
        kept = [branch for branch in prop.one_of if not (isinstance(branch, Schema) and branch.type == "null")]
        return kept[0] if len(kept) == 1 and isinstance(kept[0], Schema) else prop
    if isinstance(prop.type, list) and "null" in prop.type:
        types = [kind for kind in prop.type if kind != "null"]
        prop.type = types[0] if len(types) == 1 else types
        if prop.enum is not None:
            prop.enum = [value for value in prop.enum if value is not None]
    return prop


def refuses_null(model: type[BaseModel]) -> set[str]:
    """The fields of a partial change that may be left out but not sent as null: their validator says so by its
    name (`_not_null`, `check_not_null`), or the model lists them in NOT_NULL; the document drops null from them."""
    named: tuple[str, ...] = getattr(model, "NOT_NULL", ())
    return set(named) | {
        field
        for name, validator in model.__pydantic_decorators__.field_validators.items()
        if "not_null" in name
        for field in validator.info.fields
    }


class ContractSchemaPlugin(PydanticSchemaPlugin):
    @classmethod
    def for_pydantic_model(cls, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().for_pydantic_model(field_definition, schema_creator)
        model: type[BaseModel] = field_definition.annotation
        if model.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        rules = model.model_json_schema(by_alias=True, schema_generator=_RulesSchema).get("properties", {})
        not_null = refuses_null(model)
        for name, prop in list((schema.properties or {}).items()):
            if not isinstance(prop, Schema):
                continue
            if name in rules:
                copy_constraints(prop, rules[name])
            if name in not_null and schema.properties is not None:
                schema.properties[name] = without_null(prop)
        return schema

    def __init__(self, settings: Settings) -> None:
        super().__init__(prefer_alias=True)
        self.settings = settings

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        """The model's schema, with the bounds that are settings (a model's MIN_LENGTH_SETTINGS: field -> setting,
        such as a password's PASSWORD_MIN_LENGTH) as this service is configured."""
        schema = super().to_openapi_schema(field_definition, schema_creator)
        bounds: dict[str, str] = getattr(field_definition.annotation, "MIN_LENGTH_SETTINGS", {})
        for name, setting in bounds.items():
            prop = (schema.properties or {}).get(name)
            if isinstance(prop, Schema):
                prop.min_length = getattr(self.settings, setting)
        return schema


def pydantic_plugins(settings: Settings) -> list[PydanticInitPlugin | PydanticSchemaPlugin | PydanticDIPlugin]:
    """Litestar's PydanticPlugin, as its three parts, with strict JSON validation and complete schemas. Given
    these, Litestar adds no PydanticPlugin of its own (it would validate bodies first, in Python mode)."""
    return [StrictJsonInitPlugin(prefer_alias=True), ContractSchemaPlugin(settings), PydanticDIPlugin()]


def refuse_nul_in_parameters(app: ASGIApp) -> ASGIApp:
    """Route middleware: a query or path parameter holding U+0000 is a 400 naming it, as in a body (PostgreSQL
    cannot take it). Route middleware runs after routing (the path parameters are known) and inside Litestar's
    exception handling, on every route whatever its own hooks. Not a guard: Litestar copies the route handler
    for each guard of each request, and runs a synchronous one on a thread."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        # NUL reaches a query only as %00 and a path only decoded: a first look on the raw values, so that
        # requests without one (all but hostile ones) pay one substring search each.
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope["path"]:
            connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
            for name, value in [*connection.query_params.multi_items(), *connection.path_params.items()]:
                if isinstance(value, str) and "\x00" in value:
                    raise field_error(400, "invalid_request", name, NUL_REFUSED)
        await app(scope, receive, send)

    return middleware
