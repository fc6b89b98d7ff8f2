"""The query catalogue (docs/queries.md) is current, lists every named query, and goes stale when a query changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from agentpress.db import catalogue
from agentpress.db.paths import QUERIES_DIR
from agentpress.db.queries import load_queries, queries

pytestmark = pytest.mark.anyio


async def catalogue_of(database_url: str, root: Path = QUERIES_DIR) -> str:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        return await catalogue.catalogue(conn, load_queries(root) if root != QUERIES_DIR else queries)


async def test_the_committed_catalogue_is_current(database_url: str) -> None:
    written = await catalogue_of(database_url)
    assert written == catalogue.CATALOGUE.read_text(), "docs/queries.md is out of date: run `make sql-catalog`"


def test_the_catalogue_lists_every_named_query() -> None:
    text = catalogue.CATALOGUE.read_text()
    listed = {line.split()[1] for line in text.splitlines() if line.startswith("### ")}
    assert listed == {f"{query.domain}.{query.name}" for query in queries}


async def test_a_changed_query_makes_the_catalogue_stale(database_url: str, tmp_path: Path) -> None:
    copy = tmp_path / "queries"
    shutil.copytree(QUERIES_DIR, copy)
    threads = copy / "threads.sql"
    threads.write_text(
        threads.read_text().replace("ORDER BY created_at DESC, id DESC\nLIMIT %(limit)s", "LIMIT %(limit)s", 1)
    )
    written = await catalogue_of(database_url, copy)
    assert written != catalogue.CATALOGUE.read_text()
