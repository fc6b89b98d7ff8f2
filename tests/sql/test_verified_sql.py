"""Verified SQL: every named query prepares, matches its model, takes the parameter types its callers pass and is
used; and the checks catch drift."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import pkgutil
import types
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import psycopg
import pytest
from fixtures import widgets
from fixtures.widgets import drifted
from psycopg.types.json import Jsonb

import agentpress.repositories
from agentpress.db import migrations
from agentpress.db.queries import queries
from agentpress.db.sqlcheck import (
    accepted_types,
    all_problems,
    column_problems,
    copy_problems,
    find_query_uses,
    parameter_problems,
    prepare_problems,
    usage_problems,
)

pytestmark = pytest.mark.anyio


class Colour(enum.StrEnum):
    RED = "red"


def repository_modules() -> list[types.ModuleType]:
    package = agentpress.repositories
    return [importlib.import_module(f"{package.__name__}.{m.name}") for m in pkgutil.iter_modules(package.__path__)]


async def test_every_named_query_of_the_service_is_verified(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await all_problems(conn, queries, repository_modules()) == []
    # The checks did look at something: every query is found in a repository module.
    uses = find_query_uses(repository_modules())
    assert {(use.domain, use.name) for use in uses} == {(query.domain, query.name) for query in queries}
    # And nearly every parameter's type was compared: all but values a function computes itself.
    params = {(query.domain, query.name): query.params for query in queries}
    passed = [(use, param) for use in uses for param in sorted(params[use.domain, use.name])]
    not_compared = [f"{use.where}: {param}" for use, param in passed if param not in use.passed]
    assert len(not_compared) <= 0.01 * len(passed), not_compared


async def test_a_clean_domain_passes(empty_database_url: str) -> None:
    migrations.apply(empty_database_url, source=widgets.MIGRATIONS)
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        assert await all_problems(conn, widgets.queries, [widgets]) == []


async def test_renaming_a_column_fails_naming_each_query_that_uses_it(empty_database_url: str) -> None:
    migrations.apply(empty_database_url, source=widgets.MIGRATIONS)
    migrations.apply(empty_database_url, source=widgets.RENAMED)
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        problems = await prepare_problems(conn, widgets.queries)
    failing = {problem.split("query ")[1].split()[0] for problem in problems if "does not prepare" in problem}
    assert failing == {
        "copy_widgets",
        "create_widget",
        "get_widget_by_text_id",
        "list_widgets",
        "list_widgets_page",
        "list_widgets_after",
    }, problems
    # PostgreSQL's own words are quoted.
    assert all('column "name"' in problem and "does not exist" in problem for problem in problems), problems
    assert all("widgets.sql:" in problem for problem in problems)
    assert len(problems) == 6


async def test_drifted_repository_functions_are_caught(empty_database_url: str) -> None:
    migrations.apply(empty_database_url, source=widgets.MIGRATIONS)
    uses = find_query_uses([drifted])
    usage = usage_problems(widgets.queries, uses)
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        assert await prepare_problems(conn, widgets.queries) == []
        columns = await column_problems(conn, widgets.queries, uses)

    def has(problems: list[str], *fragments: str) -> bool:
        return any(all(fragment in problem for fragment in fragments) for problem in problems)

    # A model field that the query does not return.
    assert has(columns, "query list_widgets does not return WidgetWithColour.colour")
    # A required field read from a nullable column.
    assert has(columns, "get_widget_by_text_id returns nullable column 'note'", "WidgetWithRequiredNote.note")
    # Parameters that the SQL does not take, and ones it needs but is not given.
    assert has(usage, "drifted.py:", "sleep is passed 'secs', which its SQL does not take")
    assert has(usage, "sleep needs 'seconds', which the call does not pass")
    # A query called with the method of another result kind.
    assert has(usage, "delete_owner is :execrows but is called with .one()")
    # A query that does not exist, and queries that no function uses.
    assert has(usage, "no query widgets.get_gadget")
    assert has(usage, "query create_owner is not used by any repository function")
    assert len(columns) == 2, columns


async def test_a_parameter_passed_as_another_type_than_postgresql_infers_is_caught(empty_database_url: str) -> None:
    migrations.apply(empty_database_url, source=widgets.MIGRATIONS)
    uses = find_query_uses([drifted])
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        await prepare_problems(conn, widgets.queries)
        problems = await parameter_problems(conn, widgets.queries, uses)
    assert len(problems) == 2, problems
    # A function argument annotated with a type that PostgreSQL's inferred type does not take...
    assert "drifted.py:" in problems[0]
    assert "list_widgets takes 'limit' as bigint" in problems[0] and "but is passed limit: str" in problems[0]
    assert f"widgets.sql:{widgets.queries.widgets.list_widgets.line})" in problems[0]
    # ... and a field of a model argument, passed as `size=draft.size`.
    assert "create_widget takes 'size' as integer" in problems[1]
    assert "but is passed WidgetDraft.size: float" in problems[1]


async def test_copy_rows_that_are_not_the_columns_in_order_and_type_are_caught(empty_database_url: str) -> None:
    migrations.apply(empty_database_url, source=widgets.MIGRATIONS)
    uses = find_query_uses([drifted])
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        await prepare_problems(conn, widgets.queries)
        problems = await copy_problems(conn, widgets.queries, uses)
    assert len(problems) == 2, problems
    # The fields in another order than the columns...
    assert "drifted.py:" in problems[0]
    assert "copy_widgets copies (owner_id, name, size, note)" in problems[0]
    assert "but SwappedWidgetRow has the fields (name, owner_id, size, note)" in problems[0]
    # ... and a field of another type than its column.
    assert "copy_widgets copies 'size', which is integer" in problems[1]
    assert "but WidgetRowWithTextSize.size is str" in problems[1]


async def test_copy_writes_rows_of_its_named_tuple_and_refuses_another(empty_database_url: str) -> None:
    migrations.apply(empty_database_url, source=widgets.MIGRATIONS)
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        owner = await widgets.create_owner(conn, name="o")
        await widgets.copy_widgets(
            conn, rows=[widgets.WidgetRow(owner.id, "a", 1, None), widgets.WidgetRow(owner.id, "b", 2, "n")]
        )
        assert [(w.name, w.size, w.note) for w in await widgets.list_widgets(conn, limit=10)] == [
            ("a", 1, None),
            ("b", 2, "n"),
        ]
        with pytest.raises(TypeError, match=r"copy_widgets .*widgets\.sql:\d+\) copies \(owner_id, name, size, note\)"):
            await drifted.copy_swapped_widgets(conn)


@pytest.mark.parametrize(
    ("annotation", "accepted"),
    [
        (int, {"smallint", "integer", "bigint", "oid"}),
        (int | None, {"smallint", "integer", "bigint", "oid"}),
        (Literal["owner", "member"], {"text", "character varying", "citext", "name"}),
        (list[UUID], {"uuid[]"}),
        (Sequence[datetime] | None, {"timestamp with time zone[]"}),
        (dict[str, Any], {"json", "jsonb"}),
        (Jsonb, {"json", "jsonb"}),
        (Colour, {"text", "character varying", "citext", "name"}),
        (bool, {"boolean"}),
        (datetime, {"timestamp with time zone"}),
        (Decimal, {"numeric"}),
        # Not known: not compared, and not a problem.
        (Any, None),
        (int | str, None),
        (object, None),
    ],
)
def test_the_annotations_the_parameter_check_knows(annotation: Any, accepted: set[str] | None) -> None:
    assert accepted_types(annotation) == (None if accepted is None else frozenset(accepted))


async def test_a_result_column_the_model_lacks_is_caught(empty_database_url: str) -> None:
    migrations.apply(empty_database_url, source=widgets.MIGRATIONS)

    class NarrowWidget(widgets.Owner):
        pass

    uses = [use for use in find_query_uses([widgets]) if use.name == "list_widgets"]
    narrowed = [dataclasses.replace(use, model=NarrowWidget) for use in uses]
    async with await psycopg.AsyncConnection.connect(empty_database_url, autocommit=True) as conn:
        await prepare_problems(conn, widgets.queries)
        problems = await column_problems(conn, widgets.queries, narrowed)
    assert any("returns 'owner_id', which NarrowWidget lacks" in problem for problem in problems), problems
