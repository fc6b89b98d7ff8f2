"""Verified SQL: every named query prepares against the migrated schema, returns its model's fields, and is used."""

from __future__ import annotations

import ast
import inspect
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from psycopg import AsyncConnection, pq
from pydantic import BaseModel

from agentpress.db.queries import METHODS, Query, Registry
from agentpress.repositories.catalog import list_not_null_columns


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


@dataclass(frozen=True)
class ResultColumn:
    name: str
    table_oid: int
    column_number: int


def find_query_uses(modules: Iterable[types.ModuleType]) -> list[QueryUse]:
    """Read the calls on `queries.<domain>.<name>` in the modules' source."""
    uses = []
    for module in modules:
        source_file = inspect.getsourcefile(module)
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in METHODS):
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
                )
            )
    return uses


def _resolve_model(module: types.ModuleType, node: ast.expr) -> type[BaseModel] | None:
    value: Any = module
    for part in ast.unparse(node).split("."):
        value = getattr(value, part, None)
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None


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


async def all_problems(
    conn: AsyncConnection[Any], registry: Registry, modules: Iterable[types.ModuleType]
) -> list[str]:
    uses = find_query_uses(modules)
    return [
        *await prepare_problems(conn, registry),
        *usage_problems(registry, uses),
        *await column_problems(conn, registry, uses),
    ]


def statement_name(query: Query) -> bytes:
    return f"sqlcheck_{query.domain}_{query.name}".encode()


def _prepare(conn: AsyncConnection[Any], query: Query) -> str | None:
    # libpq's synchronous prepare and describe block even on an async connection: fine for a check.
    result = conn.pgconn.prepare(statement_name(query), query.positional_sql().encode())
    if result.status == pq.ExecStatus.COMMAND_OK:
        return None
    return (result.error_message or b"").decode(errors="replace").strip()


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
