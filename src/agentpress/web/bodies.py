"""Pydantic bodies: validated as strict JSON, and documented with every rule pydantic applies to them.

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
from litestar.openapi.spec import Schema
from litestar.plugins.pydantic import PydanticDIPlugin, PydanticInitPlugin, PydanticSchemaPlugin
from litestar.plugins.pydantic.plugins.init import ExtendedMsgSpecValidationError
from litestar.plugins.pydantic.utils import is_pydantic_model_class
from litestar.typing import FieldDefinition
from pydantic import BaseModel, ValidationError

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
}


def decode_strict_json(model: type[BaseModel], value: Any) -> BaseModel:
    """A body Litestar decoded from JSON, validated as that JSON: no string taken for a boolean or a number."""
    try:
        return model.model_validate_json(msgspec.json.encode(value), strict=True)
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


def copy_constraints(target: Schema, source: dict[str, Any]) -> None:
    """Pydantic's constraints on one property, onto Litestar's schema of it, branch by matching type."""
    for branch in _branches(target):
        for rules in _pydantic_branches(source):
            if rules.get("type") is not None and str(rules["type"]) != str(getattr(branch.type, "value", branch.type)):
                continue
            for keyword, attribute in _CONSTRAINTS.items():
                if keyword in rules and getattr(branch, attribute) is None:
                    setattr(branch, attribute, rules[keyword])


class ContractSchemaPlugin(PydanticSchemaPlugin):
    @classmethod
    def for_pydantic_model(cls, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().for_pydantic_model(field_definition, schema_creator)
        model: type[BaseModel] = field_definition.annotation
        if model.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        rules = model.model_json_schema(by_alias=True).get("properties", {})
        for name, prop in (schema.properties or {}).items():
            if isinstance(prop, Schema) and name in rules:
                copy_constraints(prop, rules[name])
        return schema


def pydantic_plugins() -> list[PydanticInitPlugin | PydanticSchemaPlugin | PydanticDIPlugin]:
    """Litestar's PydanticPlugin, as its three parts, with strict JSON validation and complete schemas. Given
    these, Litestar adds no PydanticPlugin of its own (it would validate bodies first, in Python mode)."""
    return [StrictJsonInitPlugin(prefer_alias=True), ContractSchemaPlugin(prefer_alias=True), PydanticDIPlugin()]
