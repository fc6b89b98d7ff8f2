"""The knowledge-base source tables declare their statements to the verified-SQL check, and a drifted one is caught."""

from __future__ import annotations

import dataclasses

import psycopg
import pytest
from pydantic import BaseModel

from agentpress.db.queries import queries
from agentpress.db.sqlcheck import find_query_uses, parameter_problems, prepare_problems, usage_problems
from agentpress.models.knowledge_bases import KnowledgeBaseFreeformTextCreate
from agentpress.repositories import knowledge_base_sources
from agentpress.repositories.knowledge_base_sources import FILES, TABLES

pytestmark = pytest.mark.anyio


def test_each_table_declares_its_seven_statements_to_the_check() -> None:
    uses = find_query_uses([knowledge_base_sources])
    assert len(uses) == 4 * 7
    assert {(use.domain, use.name) for use in uses} == {
        ("knowledge_base_sources", query.name) for query in queries if query.domain == "knowledge_base_sources"
    }
    # No problem but that the other files' queries are not used here.
    assert [problem for problem in usage_problems(queries, uses) if "is not used" not in problem] == []
    # Every parameter says what it is passed as, the table's jsonb columns as Jsonb.
    assert all(use.passed.keys() == use.params for use in uses)
    create_table = next(use for use in uses if use.name == "create_kb_table")
    assert create_table.passed["rows"].source == "Jsonb(...)"
    assert create_table.where.endswith("(KnowledgeBaseTable)")


def test_a_table_whose_fields_are_not_its_statements_parameters_is_caught() -> None:
    drifted = dataclasses.replace(FILES, fields=KnowledgeBaseFreeformTextCreate)
    problems = usage_problems(queries, drifted.query_uses())
    assert any("create_kb_file is passed 'title', which its SQL does not take" in p for p in problems), problems
    assert any("update_kb_file needs 'storage_uri', which the call does not pass" in p for p in problems), problems
    # Named by the method that runs the statement and the kind.
    assert all("knowledge_base_sources.py:" in p and "(KnowledgeBaseFile)" in p for p in problems if "kb_file" in p)


class TableWithTextRows(BaseModel):
    name: str
    columns: list[dict[str, str]]
    rows: str


async def test_a_table_passing_a_parameter_as_another_type_is_caught(database_url: str) -> None:
    # The rows sent as text rather than as jsonb: the statements cast them to jsonb, so PostgreSQL infers jsonb.
    drifted = dataclasses.replace(TABLES, fields=TableWithTextRows, jsonb=frozenset({"columns"}))
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await prepare_problems(conn, queries) == []
        problems = await parameter_problems(conn, queries, drifted.query_uses())
    assert any("create_kb_table takes 'rows' as jsonb" in p and "TableWithTextRows.rows" in p for p in problems), (
        problems
    )
