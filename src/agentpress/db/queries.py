"""Named SQL queries: parse `sql/queries/*.sql` once into a registry and run its statements by name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast, get_args

from psycopg import AsyncConnection, AsyncCopy, AsyncCursor
from psycopg.rows import dict_row
from pydantic import TypeAdapter

from agentpress.db import registry
from agentpress.db.paths import QUERIES_DIR
from agentpress.db.registry import ServiceQueries

T = TypeVar("T")
R = TypeVar("R", bound=tuple[Any, ...])
Kind = Literal["one", "many", "exec", "execrows", "scalar", "copy"]
KINDS: frozenset[str] = frozenset(get_args(Kind))
# The methods of Query by the result kind they run: `.one_required()` is `.one()` that raises NoRowError.
METHODS: dict[str, Kind] = {
    **{kind: cast(Kind, kind) for kind in KINDS},
    "one_required": "one",
    "scalar_required": "scalar",
}

_HEADER = re.compile(r"^--\s*name:\s*(?P<rest>.*)$")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
# A plan contract, in doc lines: `uses: index, index`, `never: Seq Scan on messages` (a plan node
# type, optionally on a relation), and `plan: custom` for a statement the service runs unprepared
# (only the plan for its own values counts). tests/sql/test_plan_contracts.py holds plans to them.
_CONTRACT = re.compile(r"^(?P<clause>uses|never|plan):\s*(?P<value>\S.*)$")
_INDEXES = re.compile(r"[a-z0-9_]+(?:, [a-z0-9_]+)*")
_NODE = re.compile(r"[A-Z][A-Za-z ]*[a-z](?: on [a-z0-9_]+)?")
# A `:copy` statement: COPY into a table, its columns named, from the client.
_COPY = re.compile(r"\s*COPY\s+(?P<table>[a-z_][a-z0-9_.]*)\s*\((?P<columns>[^()]*)\)\s*FROM\s+STDIN\b", re.IGNORECASE)
# What psycopg itself treats as a placeholder: %% is a literal %, %(name)s a named parameter.
_PERCENT = re.compile(r"%(%|\((?P<name>[^)]*)\)(?P<format>[sbt])|.?)", re.DOTALL)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(model: type[T]) -> TypeAdapter[T]:
    """The TypeAdapter of `model` (a row's model, or a list of them), made on first use."""
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


class QueryFileError(Exception):
    """A query file breaks the format; the message starts with `file:line:`."""


class NoRowError(LookupError):
    """A query that must return a row (an INSERT ... RETURNING, a row the transaction holds) returned none.

    Raised by the `_required` methods instead of an `assert`, which `python -O` would strip.
    """

    def __init__(self, query: Query) -> None:
        super().__init__(f"query {query.domain}.{query.name} ({query.location}) returned no row")
        self.query = query


@dataclass(frozen=True)
class Query:
    """One named statement, with the text sent to the server and the parameters it takes."""

    name: str
    domain: str
    kind: Kind
    sql: str
    params: frozenset[str]
    doc: str
    file: Path
    line: int
    # The plan contract: indexes the plan must use, and plan nodes it must not have.
    uses: tuple[str, ...] = ()
    never: tuple[str, ...] = ()
    custom_plan_only: bool = False
    # A `:copy` statement's table and columns, in order: the fields of the NamedTuple its rows are.
    copy_table: str = ""
    copy_columns: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def positional_sql(self) -> str:
        """The statement with $1, $2, ... placeholders, as PREPARE takes it (numbered by first use)."""
        numbers = {name: number for number, name in enumerate(self.positional_params(), start=1)}

        def replace(match: re.Match[str]) -> str:
            return "%" if match.group(1) == "%" else f"${numbers[match.group('name')]}"

        return _PERCENT.sub(replace, self.sql)

    def positional_params(self) -> list[str]:
        """The parameter names in the order of positional_sql's $1, $2, ..."""
        names: dict[str, None] = {}
        for match in _PERCENT.finditer(self.sql):
            if match.group(1) != "%":
                names.setdefault(match.group("name"))
        return list(names)

    def _check_params(self, params: Mapping[str, Any]) -> None:
        if params.keys() != self.params:
            missing = sorted(self.params - params.keys())
            extra = sorted(params.keys() - self.params)
            raise TypeError(f"query {self.name} ({self.location}): missing parameters {missing}, unknown {extra}")

    # Rows come as dicts and become models through a TypeAdapter made once per model, a page in one
    # call. psycopg's class_row (Model(**row), row by row) put a page of 20 threads 29% over bare
    # psycopg's tuples; this way 23%, the dicts and the validation itself (bench/scenarios/layer.py).
    async def one(self, conn: AsyncConnection[Any], model: type[T], /, **params: Any) -> T | None:
        """The row as `model`, or None when there is none."""
        self._check_params(params)
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(self.sql, params)
            row = await cur.fetchone()
        return None if row is None else _adapter(model).validate_python(row)

    async def one_required(self, conn: AsyncConnection[Any], model: type[T], /, **params: Any) -> T:
        """The row as `model`; NoRowError when there is none (an INSERT ... RETURNING always has one)."""
        found = await self.one(conn, model, **params)
        if found is None:
            raise NoRowError(self)
        return found

    async def many(self, conn: AsyncConnection[Any], model: type[T], /, **params: Any) -> list[T]:
        self._check_params(params)
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(self.sql, params)
            rows = await cur.fetchall()
        return _adapter(list[model]).validate_python(rows)  # type: ignore[valid-type]

    async def scalar(self, conn: AsyncConnection[Any], type_: type[T], /, **params: Any) -> T | None:
        """The first column of the first row as `type_` (validated like a row of .one()), or None when
        there is no row or the value is NULL."""
        self._check_params(params)
        async with conn.cursor() as cur:
            await cur.execute(self.sql, params)
            row = await cur.fetchone()
        return None if row is None or row[0] is None else _adapter(type_).validate_python(row[0])

    async def scalar_required(self, conn: AsyncConnection[Any], type_: type[T], /, **params: Any) -> T:
        """The value as `type_`; NoRowError when there is no row or it is NULL (a count, an EXISTS)."""
        found = await self.scalar(conn, type_, **params)
        if found is None:
            raise NoRowError(self)
        return found

    async def exec(self, conn: AsyncConnection[Any], /, **params: Any) -> None:
        self._check_params(params)
        await conn.execute(self.sql, params)

    @asynccontextmanager
    async def copy(self, cursor: AsyncCursor[Any], row_type: type[R], /) -> AsyncIterator[RowCopy[R]]:
        """A `:copy` statement (COPY ... FROM STDIN) opened on the cursor, for streaming rows of `row_type` in:
        a NamedTuple whose fields are the statement's columns, in order (the SQL checks compare their types)."""
        fields = getattr(row_type, "_fields", None)
        if fields != self.copy_columns:
            raise TypeError(
                f"query {self.name} ({self.location}) copies ({', '.join(self.copy_columns)}); "
                f"{row_type.__name__} is not a NamedTuple of those fields: {fields}"
            )
        async with cursor.copy(self.sql) as copy:
            yield RowCopy(copy)

    async def execrows(self, conn: AsyncConnection[Any], /, **params: Any) -> int:
        self._check_params(params)
        async with conn.cursor() as cur:
            await cur.execute(self.sql, params)
            return cur.rowcount


class RowCopy(Generic[R]):
    """A `:copy` in progress, taking rows of one NamedTuple type."""

    def __init__(self, copy: AsyncCopy) -> None:
        self._copy = copy

    def set_types(self, types: Sequence[int | str]) -> None:
        """The PostgreSQL type of each column, for a binary COPY (which applies no casts)."""
        self._copy.set_types(types)

    async def write_row(self, row: R) -> None:
        await self._copy.write_row(row)


@dataclass(frozen=True)
class Domain:
    """The queries of one file, reached as attributes: `queries.threads.get_thread`."""

    name: str
    queries: dict[str, Query] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Query:
        try:
            return self.queries[name]
        except KeyError:
            raise AttributeError(f"no query {name!r} in sql/queries/{self.name}.sql") from None


@dataclass(frozen=True)
class Registry:
    """Every named query of a folder, by domain (file stem) and by name."""

    root: Path
    domains: dict[str, Domain]

    def __iter__(self) -> Iterator[Query]:
        for domain in self.domains.values():
            yield from domain.queries.values()

    def get(self, domain: str, name: str) -> Query | None:
        found = self.domains.get(domain)
        return None if found is None else found.queries.get(name)


class UntypedRegistry(Registry):
    """A folder's queries as attributes found at run time (`registry.things.get_thing`), which no type checker
    sees: for folders other than the service's (tests, the widgets fixture). The service's are `queries`."""

    def __getattr__(self, name: str) -> Domain:
        try:
            return self.domains[name]
        except KeyError:
            raise AttributeError(f"no query file {name}.sql in {self.root}") from None


class ServiceRegistry(Registry, ServiceQueries):
    """The service's queries, their domains the classes db/registry.py declares (generated from the files), so
    that mypy checks `queries.<file>.<name>` and an editor goes from it to the file and line."""


def _typed(loaded: Registry) -> ServiceRegistry:
    service = ServiceRegistry(loaded.root, loaded.domains)
    declared = ServiceQueries.__annotations__
    for name, domain in loaded.domains.items():
        typed_class = getattr(registry, declared[name]) if name in declared else None
        bound: object = domain
        if typed_class is not None:
            # The queries the files hold now, even when registry.py is stale: the drift test reports that.
            bound = typed_class()
            for query in domain.queries.values():
                setattr(bound, query.name, query)
        object.__setattr__(service, name, bound)  # Registry is frozen once built; this is the building
    return service


def load_queries(root: Path) -> UntypedRegistry:
    """Parse every `*.sql` file under `root`; a malformed file raises QueryFileError naming file and line."""
    domains: dict[str, Domain] = {}
    seen: dict[str, Query] = {}
    for path in sorted(root.glob("*.sql")):
        domain = Domain(path.stem)
        for query in _parse_file(path):
            if query.name in seen:
                raise QueryFileError(
                    f"{query.location}: duplicate query name {query.name!r} (first at {seen[query.name].location})"
                )
            seen[query.name] = query
            domain.queries[query.name] = query
        domains[domain.name] = domain
    return UntypedRegistry(root, domains)


def _parse_file(path: Path) -> Iterator[Query]:
    lines = path.read_text(encoding="utf-8").splitlines()
    headers = [i for i, line in enumerate(lines) if _HEADER.match(line.strip())]
    preamble = "\n".join(lines[: headers[0]] if headers else lines)
    if _strip_comments(preamble).strip():
        raise QueryFileError(f"{path}:{_first_code_line(lines)}: SQL before the first '-- name:' header")
    for position, start in enumerate(headers):
        end = headers[position + 1] if position + 1 < len(headers) else len(lines)
        yield _parse_block(path, start, lines[start:end])


def _parse_block(path: Path, start: int, block: list[str]) -> Query:
    where = f"{path}:{start + 1}"
    header = _HEADER.match(block[0].strip())
    assert header is not None
    parts = header.group("rest").split()
    if not parts or not _NAME.fullmatch(parts[0]):
        raise QueryFileError(f"{where}: the header needs a snake_case name: '-- name: get_thing :one'")
    name = parts[0]
    if len(parts) < 2:
        raise QueryFileError(
            f"{where}: query {name!r} has no result kind (:one, :many, :exec, :execrows, :scalar, :copy)"
        )
    kind = parts[1].removeprefix(":")
    if not parts[1].startswith(":") or kind not in KINDS or len(parts) > 2:
        raise QueryFileError(f"{where}: query {name!r} has an unknown result kind {' '.join(parts[1:])!r}")

    body = block[1:]
    doc_lines: list[str] = []
    uses: list[str] = []
    never: list[str] = []
    custom_plan_only = False
    while body and body[0].strip().startswith("--"):
        line = body.pop(0).strip().removeprefix("--").strip()
        contract = _CONTRACT.match(line)
        if contract and contract["clause"] == "uses":
            if not _INDEXES.fullmatch(contract["value"]):
                raise QueryFileError(f"{where}: query {name!r}: write 'uses: an_index, another_index'")
            uses += contract["value"].split(", ")
        elif contract and contract["clause"] == "plan":
            if contract["value"] != "custom":
                raise QueryFileError(f"{where}: query {name!r}: the only plan clause is 'plan: custom'")
            custom_plan_only = True
        elif contract:
            if not _NODE.fullmatch(contract["value"]):
                raise QueryFileError(f"{where}: query {name!r}: write 'never: Seq Scan' or 'never: Seq Scan on table'")
            never.append(contract["value"])
        elif line.startswith("Uses "):
            raise QueryFileError(f"{where}: query {name!r}: a plan contract is written 'uses: an_index, another_index'")
        else:
            doc_lines.append(line)
    statement = _single_statement(where, name, "\n".join(body))

    params: set[str] = set()
    for match in _PERCENT.finditer(statement):
        if match.group(1) == "%":
            continue
        param = match.group("name")
        if param is None or not _NAME.fullmatch(param) or match.group("format") != "s":
            raise QueryFileError(
                f"{where}: query {name!r}: {match.group(0)!r} is not a placeholder; "
                "use %(name)s for parameters and %% for a literal %"
            )
        params.add(param)
    copy = _COPY.match(_strip_comments(statement))
    columns = tuple(column.strip() for column in copy["columns"].split(",")) if copy else ()
    if kind == "copy" and (params or copy is None or not all(_NAME.fullmatch(column) for column in columns)):
        raise QueryFileError(
            f"{where}: query {name!r} is :copy: a COPY table (column, ...) FROM STDIN without parameters"
        )

    return Query(
        name=name,
        domain=path.stem,
        kind=cast(Kind, kind),
        # The leading comment reaches pg_stat_activity and pg_stat_statements, so a DBA can
        # map a running or slow statement back to its file and name.
        sql=f"/* {path.stem}.{name} */ {statement}",
        params=frozenset(params),
        doc=" ".join(doc_lines),
        file=path,
        line=start + 1,
        uses=tuple(uses),
        never=tuple(never),
        custom_plan_only=custom_plan_only,
        copy_table=copy["table"] if copy and kind == "copy" else "",
        copy_columns=columns if kind == "copy" else (),
    )


def _single_statement(where: str, name: str, text: str) -> str:
    """The one statement in `text`, without its trailing semicolon."""
    code = _strip_comments(text)
    if not code.strip().rstrip(";").strip():
        raise QueryFileError(f"{where}: query {name!r} has no statement")
    first_end = code.find(";")
    if first_end != -1 and code[first_end + 1 :].strip().strip(";").strip():
        raise QueryFileError(f"{where}: query {name!r} holds two statements; give each its own header")
    return text.strip().rstrip(";").rstrip()


def _strip_comments(text: str) -> str:
    """`text` with comments and the insides of quoted strings blanked, so `;` and `--` in them don't count."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        two = text[i : i + 2]
        if two == "--":
            end = text.find("\n", i)
            i = n if end == -1 else end
        elif two == "/*":
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif text[i] in "'\"":
            quote = text[i]
            i += 1
            while i < n:
                if text[i] == quote and text[i + 1 : i + 2] == quote:
                    i += 2
                elif text[i] == quote:
                    i += 1
                    break
                else:
                    i += 1
            out.append(quote * 2)
        elif text[i] == "$" and (tag := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", text[i:])):
            close = text.find(tag.group(0), i + len(tag.group(0)))
            i = n if close == -1 else close + len(tag.group(0))
            out.append("''")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _first_code_line(lines: list[str]) -> int:
    for number, line in enumerate(lines, start=1):
        if _strip_comments(line).strip():
            return number
    return 1


queries = _typed(load_queries(QUERIES_DIR))
"""The service's queries, parsed once at import: `queries.<file>.<name>.one(conn, Model, ...)`."""
