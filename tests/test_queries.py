"""The named-query loader: the format it accepts, what it refuses (naming file and line), and what it sends."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import psycopg
import pytest

from agentpress.db import registry_writer
from agentpress.db.paths import QUERIES_DIR
from agentpress.db.queries import NoRowError, QueryFileError, load_queries, queries


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_parses_name_kind_doc_params_and_tags_the_statement(tmp_path: Path) -> None:
    write(
        tmp_path,
        "things.sql",
        "-- Things.\n\n"
        "-- name: get_thing :one\n"
        "-- One thing by key.\n"
        "-- Served by the primary key.\n"
        "SELECT id, name FROM things\n"
        "WHERE id = %(thing_id)s AND org_id = %(org_id)s AND name LIKE 'a%%' AND note = 'x;y'\n"
        "  AND id = %(thing_id)s;\n\n"
        "-- name: delete_thing :execrows\n"
        "DELETE FROM things WHERE id = %(thing_id)s\n",
    )
    registry = load_queries(tmp_path)
    query = registry.things.get_thing
    assert (query.kind, query.domain, query.line) == ("one", "things", 3)
    assert query.doc == "One thing by key. Served by the primary key."
    assert query.params == {"thing_id", "org_id"}
    assert query.sql.startswith("/* things.get_thing */ SELECT id, name FROM things")
    assert not query.sql.endswith(";")
    assert query.positional_sql().endswith(
        "WHERE id = $1 AND org_id = $2 AND name LIKE 'a%' AND note = 'x;y'\n  AND id = $1"
    )
    assert registry.things.delete_thing.kind == "execrows"
    assert [q.name for q in registry] == ["get_thing", "delete_thing"]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("-- name: a :one\nSELECT 1;\n-- name: a :many\nSELECT 2;\n", 3, "duplicate query name 'a'"),
        ("-- name: a\nSELECT 1;\n", 1, "has no result kind"),
        ("-- name: a :some\nSELECT 1;\n", 1, "unknown result kind ':some'"),
        ("-- name: a one\nSELECT 1;\n", 1, "unknown result kind 'one'"),
        ("\n-- name: a :one\n-- just a doc line\n\n", 2, "has no statement"),
        ("-- name: a :one\n;\n", 1, "has no statement"),
        ("-- name: a :exec\nSELECT 1; SELECT 2;\n", 1, "two statements"),
        ("-- name: a :exec\nDELETE FROM t;\n\nDELETE FROM u;\n", 1, "two statements"),
        ("SELECT 0;\n-- name: a :one\nSELECT 1;\n", 1, "SQL before the first"),
        ("-- name: GetThing :one\nSELECT 1;\n", 1, "snake_case name"),
        ("-- name: a :one\nSELECT 1 WHERE x LIKE '5%';\n", 1, "not a placeholder"),
        ("-- name: a :one\nSELECT %s;\n", 1, "not a placeholder"),
        ("-- name: a :copy\nSELECT 1;\n", 1, "is :copy"),
        ("-- name: a :copy\nCOPY t (a) FROM STDIN WHERE a = %(a)s;\n", 1, "is :copy"),
        ("-- name: a :copy\nCOPY t FROM STDIN;\n", 1, "is :copy"),
        ('-- name: a :copy\nCOPY t (a, "B") FROM STDIN;\n', 1, "is :copy"),
    ],
)
def test_refuses_a_malformed_file_naming_file_and_line(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = write(tmp_path, "bad.sql", text)
    with pytest.raises(QueryFileError) as raised:
        load_queries(tmp_path)
    assert str(raised.value).startswith(f"{path}:{line}:")
    assert problem in str(raised.value)


def test_a_copy_names_its_table_and_columns(tmp_path: Path) -> None:
    write(
        tmp_path,
        "q.sql",
        "-- name: copy_things :copy\n-- Streamed.\n"
        "COPY things (\n    a, b_id,\n    c\n)\nFROM STDIN (FORMAT BINARY);\n",
    )
    query = load_queries(tmp_path).q.copy_things
    assert (query.copy_table, query.copy_columns) == ("things", ("a", "b_id", "c"))


def test_a_duplicate_name_across_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.sql", "-- name: get_x :one\nSELECT 1;\n")
    write(tmp_path, "b.sql", "-- name: get_x :one\nSELECT 2;\n")
    with pytest.raises(QueryFileError, match=r"b\.sql:1: duplicate query name 'get_x' \(first at .*a\.sql:1\)"):
        load_queries(tmp_path)


def test_semicolons_and_headers_inside_strings_and_comments_do_not_split(tmp_path: Path) -> None:
    write(
        tmp_path,
        "q.sql",
        "-- name: a :scalar\nSELECT $tag$; SELECT 2$tag$ || ';' || \"odd;name\" /* ; */ -- ;\nFROM t;\n",
    )
    assert load_queries(tmp_path).q.a.kind == "scalar"


def test_an_unknown_domain_or_query_names_the_file() -> None:
    loaded = load_queries(QUERIES_DIR)
    with pytest.raises(AttributeError, match=r"no query file nope\.sql"):
        _ = loaded.nope
    with pytest.raises(AttributeError, match=r"no query 'nope' in sql/queries/system\.sql"):
        _ = loaded.system.nope


def test_the_service_queries_are_the_typed_registry_s_attributes() -> None:
    # What mypy and an editor see (db/registry.py) is what runs: the same Query objects, by the same names.
    for query in queries:
        domain = getattr(queries, query.domain)
        assert type(domain).__name__ == registry_writer.class_name(query.domain)
        assert getattr(domain, query.name) is query
    with pytest.raises(AttributeError):
        _ = queries.tasks.nope  # type: ignore[attr-defined]


def test_the_committed_registry_is_current() -> None:
    written = registry_writer.render(load_queries(QUERIES_DIR))
    assert written == registry_writer.REGISTRY.read_text(), (
        "src/agentpress/db/registry.py is out of date: run `make sql-registry`"
    )


def test_the_registry_names_each_query_s_file_and_line_and_goes_stale_when_a_query_moves(tmp_path: Path) -> None:
    text = registry_writer.render(load_queries(QUERIES_DIR))
    claim = queries.tasks.claim_tasks
    assert f'    claim_tasks: Query\n    """sql/queries/tasks.sql:{claim.line} `:many`. {claim.doc[:40]}' in text
    copy = tmp_path / "queries"
    shutil.copytree(QUERIES_DIR, copy)
    tasks = copy / "tasks.sql"
    tasks.write_text("-- A line added at the top moves every query down.\n" + tasks.read_text())
    assert registry_writer.render(load_queries(copy)) != text


async def _call_with_wrong_params() -> None:
    await queries.system.list_applied_migrations.many(None, object, org_id=1)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_call_with_parameters_the_sql_does_not_take_is_refused() -> None:
    with pytest.raises(TypeError, match=r"list_applied_migrations .*unknown \['org_id'\]"):
        await _call_with_wrong_params()


def test_contract_lines_state_the_plan_and_stay_out_of_the_doc(tmp_path: Path) -> None:
    write(
        tmp_path,
        "q.sql",
        "-- name: get_a :one\n-- A thing by key.\n-- uses: things_pkey, others_key\n-- never: Seq Scan on things\n"
        "-- never: Sort\nSELECT 1;\n"
        "-- name: get_b :one\n-- Not a contract: it uses nothing.\nSELECT 2;\n",
    )
    registry = load_queries(tmp_path)
    assert registry.q.get_a.uses == ("things_pkey", "others_key")
    assert registry.q.get_a.never == ("Seq Scan on things", "Sort")
    assert registry.q.get_a.doc == "A thing by key."
    assert (registry.q.get_b.uses, registry.q.get_b.never) == ((), ())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-- uses: Things Pkey", "write 'uses: an_index, another_index'"),
        ("-- never: a seq scan", "write 'never: Seq Scan' or 'never: Seq Scan on table'"),
        ("-- Uses things_pkey.", "a plan contract is written 'uses: an_index, another_index'"),
    ],
)
def test_a_malformed_contract_is_refused_with_its_place(tmp_path: Path, line: str, message: str) -> None:
    write(tmp_path, "q.sql", f"-- name: get_a :one\n{line}\nSELECT 1;\n")
    with pytest.raises(QueryFileError, match=re.escape(f"q.sql:1: query 'get_a': {message}")):
        load_queries(tmp_path)


@pytest.mark.anyio
async def test_scalar_returns_the_value_as_the_type_asked_for(tmp_path: Path, empty_database_url: str) -> None:
    write(
        tmp_path,
        "q.sql",
        "-- name: get_text_number :scalar\nSELECT '42'::text;\n"
        "-- name: get_day :scalar\nSELECT date '2024-02-29';\n"
        "-- name: get_null :scalar\nSELECT NULL::integer;\n"
        "-- name: get_nothing :scalar\nSELECT 1 WHERE false;\n"
        "-- name: get_word :scalar\nSELECT 'many'::text;\n",
    )
    q = load_queries(tmp_path).q
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        # Validated as .one() validates a row: converted where pydantic converts, refused where it cannot.
        assert await q.get_text_number.scalar(conn, int) == 42
        assert await q.get_day.scalar_required(conn, date) == date(2024, 2, 29)
        with pytest.raises(ValueError, match="valid integer"):
            await q.get_word.scalar(conn, int)
        # No row and a NULL value are both None, and both refused by scalar_required.
        assert await q.get_null.scalar(conn, int) is None
        assert await q.get_nothing.scalar(conn, int) is None
        for name in ("get_null", "get_nothing"):
            with pytest.raises(NoRowError, match=rf"query q\.{name} \(.*q\.sql:\d+\) returned no row"):
                await getattr(q, name).scalar_required(conn, int)


@pytest.mark.anyio
async def test_one_required_raises_a_named_error_when_there_is_no_row(tmp_path: Path, empty_database_url: str) -> None:
    write(tmp_path, "q.sql", "-- name: get_row :one\nSELECT 1 AS id WHERE %(found)s::boolean;\n")
    get_row = load_queries(tmp_path).q.get_row
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        assert await get_row.one_required(conn, dict[str, int], found=True) == {"id": 1}
        # Not an assert: python -O keeps it.
        with pytest.raises(NoRowError, match=r"query q\.get_row \(.*q\.sql:1\) returned no row") as raised:
            await get_row.one_required(conn, dict[str, int], found=False)
    assert raised.value.query is get_row
