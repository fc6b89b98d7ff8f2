"""Verified SQL: every named query prepares against the migrated schema, returns its model's fields, takes the
parameter types its callers pass, and is used."""

from __future__ import annotations

import ast
import builtins
import collections.abc
import enum
import inspect
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol, Union, get_args, get_origin, get_type_hints, runtime_checkable
from uuid import UUID

from pgvector import HalfVector, Vector
from psycopg import AsyncConnection, pq, sql
from psycopg.types.json import Json, Jsonb
from pydantic import BaseModel

from agentpress.db.queries import METHODS, Query, Registry
from agentpress.repositories.catalog import get_prepared_types, list_not_null_columns


@dataclass(frozen=True)
class Passed:
    """What a repository function says of a value it passes for a parameter: the annotation of its own
    argument (`org_id=org_id`), of a field of a model argument (`name=fields.name`), or the return type of
    the function that makes it (`token_hash=hash_token(token)`)."""

    annotation: Any
    source: str


@dataclass(frozen=True)
class QueryUse:
    """One call `queries.<domain>.<name>.<method>(conn, [Model,] **params)` in a repository module."""

    domain: str
    name: str
    method: str
    model: type[BaseModel] | None
    params: frozenset[str]
    passes_unknown_params: bool
    where: str
    # By parameter name, where the function says what it passes (see Passed); the rest is not compared.
    passed: Mapping[str, Passed] = field(default_factory=dict)
    # The NamedTuple a `.copy(cursor, Row)` writes rows of.
    row_type: type[tuple[Any, ...]] | None = None


@runtime_checkable
class DeclaresQueryUses(Protocol):
    """An object in a repository module that runs statements it holds rather than names in a call, so that its
    module's source does not say which (a SourceTable of repositories/knowledge_base_sources.py): it says itself."""

    def query_uses(self) -> list[QueryUse]: ...


@dataclass(frozen=True)
class ResultColumn:
    name: str
    table_oid: int
    column_number: int


def find_query_uses(modules: Iterable[types.ModuleType]) -> list[QueryUse]:
    """Read the calls on `queries.<domain>.<name>` in the modules' source, and ask the objects of the modules
    that declare their uses."""
    uses = []
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, DeclaresQueryUses) and not isinstance(value, type):
                uses.extend(value.query_uses())
        source_file = inspect.getsourcefile(module)
        for scope, node in _calls(ast.parse(inspect.getsource(module)), None):
            if not (isinstance(node.func, ast.Attribute) and node.func.attr in METHODS):
                continue
            query, method = node.func.value, node.func.attr
            if not (
                isinstance(query, ast.Attribute)
                and isinstance(query.value, ast.Attribute)
                and isinstance(query.value.value, ast.Name)
                and query.value.value.id == "queries"
            ):
                continue
            model = (
                _resolve_model(module, node.args[1])
                if METHODS[method] in ("one", "many") and len(node.args) > 1
                else None
            )
            uses.append(
                QueryUse(
                    domain=query.value.attr,
                    name=query.attr,
                    method=method,
                    model=model,
                    params=frozenset(k.arg for k in node.keywords if k.arg is not None),
                    passes_unknown_params=any(k.arg is None for k in node.keywords),
                    where=f"{source_file}:{node.lineno}",
                    passed=_Function(module, scope).passed(node) if scope else {},
                    row_type=_resolve_row_type(module, node.args[1])
                    if method == "copy" and len(node.args) > 1
                    else None,
                )
            )
    return uses


_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _calls(node: ast.AST, scope: _FunctionNode | None) -> Iterator[tuple[_FunctionNode | None, ast.Call]]:
    """Every call in the tree, with the innermost function around it."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        scope = node
    if isinstance(node, ast.Call):
        yield scope, node
    for child in ast.iter_child_nodes(node):
        yield from _calls(child, scope)


@dataclass(frozen=True)
class _Function:
    """A repository function, read for what it says of the values it passes to a query."""

    module: types.ModuleType
    node: _FunctionNode

    def passed(self, call: ast.Call) -> dict[str, Passed]:
        found: dict[str, Passed] = {}
        for keyword in call.keywords:
            if keyword.arg is None:
                found |= self._spread(keyword.value)
            elif (value := self._value(keyword.value)) is not None:
                found[keyword.arg] = value
        return found

    def _argument(self, name: str) -> Passed | None:
        args = self.node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if arg.arg == name and arg.annotation is not None:
                source = ast.unparse(arg.annotation)
                try:
                    # The module's own annotation, evaluated in its namespace (the modules say
                    # `from __future__ import annotations`, so the function keeps it as text).
                    return Passed(eval(source, vars(self.module)), f"{name}: {source}")
                except NameError:  # a name imported only for type checking: not compared
                    return None
        return None

    def _value(self, node: ast.expr) -> Passed | None:
        if isinstance(node, ast.Name):
            return self._argument(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = self._argument(node.value.id)
            model = _model(owner.annotation) if owner else None
            if model is not None and node.attr in model.model_fields:
                return _field(model, node.attr)
            return None
        if isinstance(node, ast.Call):
            function = _resolve(self.module, node.func)
            if function in (list, tuple, sorted) and len(node.args) == 1:
                return self._value(node.args[0])
            if isinstance(function, type):
                return Passed(function, f"{function.__name__}(...)")
            if callable(function):
                returns = get_type_hints(function).get("return")
                return None if returns is None else Passed(returns, f"{ast.unparse(node.func)}() -> {_spell(returns)}")
        return None

    def _spread(self, node: ast.expr) -> dict[str, Passed]:
        """`**filters` (a dict literal, the name's only assignment in the function) and `**fields.model_dump(...)`."""
        found: dict[str, Passed] = {}
        if isinstance(node, ast.Name):
            assigned = [
                statement.value
                for statement in ast.walk(self.node)
                if isinstance(statement, ast.Assign | ast.AnnAssign)
                and any(isinstance(target, ast.Name) and target.id == node.id for target in _targets(statement))
            ]
            if len(assigned) == 1 and isinstance(assigned[0], ast.Dict):
                for key, value in zip(assigned[0].keys, assigned[0].values, strict=True):
                    passed = self._value(value)
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) and passed is not None:
                        found[key.value] = passed
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "model_dump"
            and isinstance(node.func.value, ast.Name)
            and (owner := self._argument(node.func.value.id)) is not None
            and (model := _model(owner.annotation)) is not None
        ):
            found = {name: _field(model, name) for name in model.model_fields}
        return found


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _model(annotation: Any) -> type[BaseModel] | None:
    annotation = _without_none(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _field(model: type[BaseModel], name: str) -> Passed:
    annotation = model.model_fields[name].annotation
    return Passed(annotation, f"{model.__name__}.{name}: {_spell(annotation)}")


def _resolve(module: types.ModuleType, node: ast.expr) -> Any:
    """The object a dotted name in the module stands for, or None."""
    if isinstance(node, ast.Name):
        return getattr(module, node.id, getattr(builtins, node.id, None))
    if isinstance(node, ast.Attribute):
        owner = _resolve(module, node.value)
        return None if owner is None else getattr(owner, node.attr, None)
    return None


def _resolve_model(module: types.ModuleType, node: ast.expr) -> type[BaseModel] | None:
    value = _resolve(module, node)
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None


def _resolve_row_type(module: types.ModuleType, node: ast.expr) -> type[tuple[Any, ...]] | None:
    value = _resolve(module, node)
    return value if isinstance(value, type) and issubclass(value, tuple) and hasattr(value, "_fields") else None


def usage_problems(registry: Registry, uses: list[QueryUse]) -> list[str]:
    """Every query used with the method of its kind and exactly the parameters its SQL takes."""
    problems = []
    used = set()
    for use in uses:
        query = registry.get(use.domain, use.name)
        if query is None:
            problems.append(f"{use.where}: no query {use.domain}.{use.name} in {registry.root}")
            continue
        used.add(query.name)
        if METHODS[use.method] != query.kind:
            problems.append(f"{use.where}: {query.name} is :{query.kind} but is called with .{use.method}()")
        if METHODS[use.method] in ("one", "many") and use.model is None:
            problems.append(f"{use.where}: {query.name}: the row model must be a pydantic model named in the call")
        if use.passes_unknown_params:
            continue
        for param in sorted(use.params - query.params):
            problems.append(f"{use.where}: {query.name} is passed {param!r}, which its SQL does not take")
        for param in sorted(query.params - use.params):
            problems.append(f"{use.where}: {query.name} needs {param!r}, which the call does not pass")
    for query in registry:
        if query.name not in used:
            problems.append(f"{query.location}: query {query.name} is not used by any repository function")
    return problems


async def prepare_problems(conn: AsyncConnection[Any], registry: Registry) -> list[str]:
    """PREPARE every query; a failure names the query and quotes PostgreSQL's error."""
    problems = []
    for query in registry:
        error = _prepare(conn, query)
        if error:
            problems.append(f"{query.location}: query {query.name} does not prepare: {error}")
    return problems


async def column_problems(conn: AsyncConnection[Any], registry: Registry, uses: list[QueryUse]) -> list[str]:
    """The columns of each query match the fields of its model: the same names, NOT NULL where required.

    Runs after prepare_problems on the same connection, which leaves the statements prepared.
    """
    problems = []
    for use in uses:
        query = registry.get(use.domain, use.name)
        if query is None or use.model is None or METHODS[use.method] != query.kind:
            continue  # reported by usage_problems
        columns = _describe(conn, query)
        if columns is None:
            continue  # reported by prepare_problems
        model, fields = use.model, use.model.model_fields
        names = [column.name for column in columns]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{query.location}: query {query.name} returns column {name!r} twice")
        for name in sorted(set(fields) - set(names)):
            problems.append(
                f"{query.location}: query {query.name} does not return {model.__name__}.{name}; "
                f"it returns {', '.join(names)}"
            )
        for name in sorted(set(names) - set(fields)):
            problems.append(f"{query.location}: query {query.name} returns {name!r}, which {model.__name__} lacks")
        not_null = {
            (row.table_oid, row.column_number)
            for row in await list_not_null_columns(conn, table_oids=sorted({c.table_oid for c in columns}))
        }
        for column in columns:
            field = fields.get(column.name)
            # Only columns read straight from a table have a known nullability; expressions are not checked.
            if field is None or column.table_oid == 0 or _admits_none(field.annotation):
                continue
            if (column.table_oid, column.column_number) not in not_null:
                problems.append(
                    f"{query.location}: query {query.name} returns nullable column {column.name!r} "
                    f"but {model.__name__}.{column.name} is not optional"
                )
    return problems


async def parameter_problems(conn: AsyncConnection[Any], registry: Registry, uses: list[QueryUse]) -> list[str]:
    """Each parameter's type as PostgreSQL infers it agrees with what the repository function passes for it.

    Runs after prepare_problems on the same connection. A disagreement is fixed in the SQL with a cast
    where PostgreSQL guessed (`%(lease_seconds)s::integer`), or in the annotation where that is wrong.
    """
    problems = []
    inferred: dict[str, dict[str, str]] = {}
    for use in uses:
        query = registry.get(use.domain, use.name)
        if query is None or not use.passed:
            continue
        if query.name not in inferred:
            types = await get_prepared_types(conn, name=statement_name(query).decode())
            if types is None:
                continue  # reported by prepare_problems
            inferred[query.name] = dict(zip(query.positional_params(), types.parameter_types, strict=True))
        for param, pg_type in inferred[query.name].items():
            passed = use.passed.get(param)
            accepted = None if passed is None else accepted_types(passed.annotation)
            if passed is not None and accepted is not None and pg_type not in accepted:
                problems.append(
                    f"{use.where}: {query.name} takes {param!r} as {pg_type} ({query.location}) but is passed "
                    f"{passed.source}; cast the parameter in the SQL or correct the annotation"
                )
    return problems


# What a Python type may be passed as: the PostgreSQL types (as format_type spells them) whose parameters
# psycopg fills from it without loss or surprise. An annotation not here is not compared.
_ACCEPTED: dict[Any, frozenset[str]] = {
    bool: frozenset({"boolean"}),
    # oid too: the catalog's object ids are integers to psycopg, both ways.
    int: frozenset({"smallint", "integer", "bigint", "oid"}),
    float: frozenset({"double precision", "real", "numeric"}),
    Decimal: frozenset({"numeric"}),
    # psycopg sends a str untyped and PostgreSQL reads it as the type it inferred: text-like types.
    str: frozenset({"text", "character varying", "citext", "name"}),
    bytes: frozenset({"bytea"}),
    UUID: frozenset({"uuid"}),
    datetime: frozenset({"timestamp with time zone"}),
    date: frozenset({"date"}),
    timedelta: frozenset({"interval"}),
    dict: frozenset({"jsonb", "json"}),
    Jsonb: frozenset({"jsonb", "json"}),
    Json: frozenset({"jsonb", "json"}),
    HalfVector: frozenset({"halfvec"}),
    Vector: frozenset({"vector"}),
}
_SEQUENCES = (list, tuple, set, frozenset, Sequence, collections.abc.Set)


def accepted_types(annotation: Any) -> frozenset[str] | None:
    """The PostgreSQL types a parameter annotated `annotation` may have; None when the annotation is not known."""
    annotation = _without_none(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return accepted_types(args[0])
    if origin is Literal:
        kinds = {type(arg) for arg in args}
        return _ACCEPTED.get(kinds.pop()) if len(kinds) == 1 else None
    if origin in _SEQUENCES:
        element = args[0] if args and (origin is not tuple or args[-1] is Ellipsis or len(set(args)) == 1) else None
        accepted = None if element is None else accepted_types(element)
        return None if accepted is None else frozenset(f"{name}[]" for name in accepted)
    if origin is dict:
        return _ACCEPTED[dict]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        kinds = {type(member.value) for member in annotation}
        return _ACCEPTED.get(kinds.pop()) if len(kinds) == 1 else None
    return _ACCEPTED.get(annotation)


def _without_none(annotation: Any) -> Any:
    """`X | None` as X; any other annotation as it is."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _spell(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) and not get_args(annotation) else repr(annotation)


async def copy_problems(conn: AsyncConnection[Any], registry: Registry, uses: list[QueryUse]) -> list[str]:
    """The rows of each `:copy` statement are a NamedTuple of its columns, in order, typed as the table's columns.

    Runs after prepare_problems on the same connection, which prepared each COPY as the INSERT of its columns.
    """
    problems = []
    for use in uses:
        query = registry.get(use.domain, use.name)
        if query is None or query.kind != "copy" or use.method != "copy":
            continue  # reported by usage_problems
        row_type = use.row_type
        if row_type is None:
            problems.append(
                f"{use.where}: {query.name}: the rows must be a NamedTuple named in the call: .copy(cursor, Row)"
            )
            continue
        fields: tuple[str, ...] = row_type._fields  # type: ignore[attr-defined]
        if fields != query.copy_columns:
            problems.append(
                f"{use.where}: {query.name} copies ({', '.join(query.copy_columns)}) ({query.location}) "
                f"but {row_type.__name__} has the fields ({', '.join(fields)})"
            )
            continue
        types = await get_prepared_types(conn, name=statement_name(query).decode())
        if types is None:
            continue  # reported by prepare_problems
        hints = get_type_hints(row_type)
        for column, pg_type in zip(fields, types.parameter_types, strict=True):
            accepted = accepted_types(hints.get(column))
            if accepted is not None and pg_type not in accepted:
                problems.append(
                    f"{use.where}: {query.name} copies {column!r}, which is {pg_type} ({query.location}), "
                    f"but {row_type.__name__}.{column} is {_spell(hints[column])}"
                )
    return problems


async def all_problems(
    conn: AsyncConnection[Any], registry: Registry, modules: Iterable[types.ModuleType]
) -> list[str]:
    uses = find_query_uses(modules)
    return [
        *await prepare_problems(conn, registry),
        *usage_problems(registry, uses),
        *await column_problems(conn, registry, uses),
        *await parameter_problems(conn, registry, uses),
        *await copy_problems(conn, registry, uses),
    ]


def statement_name(query: Query) -> bytes:
    return f"sqlcheck_{query.domain}_{query.name}".encode()


def _prepare(conn: AsyncConnection[Any], query: Query) -> str | None:
    # libpq's synchronous prepare and describe block even on an async connection: fine for a check.
    result = conn.pgconn.prepare(statement_name(query), _preparable_sql(conn, query).encode())
    if result.status == pq.ExecStatus.COMMAND_OK:
        return None
    return (result.error_message or b"").decode(errors="replace").strip()


def _preparable_sql(conn: AsyncConnection[Any], query: Query) -> str:
    """The statement the server checks for `query`. A COPY is not analysed when prepared, whatever its columns:
    the INSERT of the same columns is, and its parameters take the columns' types."""
    if query.kind != "copy":
        return query.positional_sql()
    insert = sql.SQL("/* {domain}.{name} */ INSERT INTO {table} ({columns}) VALUES ({values})").format(
        domain=sql.SQL(query.domain),
        name=sql.SQL(query.name),
        table=sql.Identifier(*query.copy_table.split(".")),
        columns=sql.SQL(", ").join(map(sql.Identifier, query.copy_columns)),
        values=sql.SQL(", ").join(sql.SQL(f"${number}") for number in range(1, len(query.copy_columns) + 1)),
    )
    return insert.as_string(conn)


def _describe(conn: AsyncConnection[Any], query: Query) -> list[ResultColumn] | None:
    result = conn.pgconn.describe_prepared(statement_name(query))
    if result.status != pq.ExecStatus.COMMAND_OK:
        return None
    return [
        ResultColumn((result.fname(i) or b"").decode(), result.ftable(i), result.ftablecol(i))
        for i in range(result.nfields)
    ]


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_admits_none(arg) for arg in get_args(annotation))
    return False
