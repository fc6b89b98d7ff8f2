"""Hot queries state the indexes they need (`-- Uses <index>, ...`); their plans are held to it here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agentpress.queries import Query, queries

SEED = Path(__file__).with_name("seed.sql")
PLANNED = [query for query in queries if query.indexes]


@pytest.fixture(scope="module")
def seeded(database_url_module: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url_module, autocommit=True) as conn:
        conn.execute(SEED.read_text())
        yield conn


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def generic_plan(conn: psycopg.Connection[Any], query: Query) -> list[dict[str, Any]]:
    # GENERIC_PLAN (PostgreSQL 16+) plans the statement as a prepared statement would be planned
    # for any parameter values: the plan every call can count on.
    (rows,) = conn.execute(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {query.positional_sql()}").fetchone()  # type: ignore[misc]
    return list(plan_nodes(json.loads(rows)[0]["Plan"] if isinstance(rows, str) else rows[0]["Plan"]))


def test_some_queries_state_their_plan() -> None:
    assert {"get_session_user", "use_password_reset"} <= {query.name for query in PLANNED}


@pytest.mark.parametrize("query", PLANNED, ids=[query.name for query in PLANNED])
def test_the_plan_uses_the_stated_indexes(seeded: psycopg.Connection[Any], query: Query) -> None:
    nodes = generic_plan(seeded, query)
    used = {node["Index Name"] for node in nodes if "Index Name" in node}
    scanned = {node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}
    assert set(query.indexes) <= used, f"{query.location}: {query.name} uses {sorted(used)}, not {query.indexes}"
    assert not scanned, f"{query.location}: {query.name} scans {sorted(scanned)} sequentially"


def test_the_name_search_uses_the_trigram_index_on_100k_agents(seeded: psycopg.Connection[Any]) -> None:
    query = queries.agents.search_agents
    (default_org,) = seeded.execute("SELECT id FROM orgs WHERE is_default").fetchone()  # type: ignore[misc]
    (agents,) = seeded.execute("SELECT count(*) FROM agents WHERE org_id = %s", [default_org]).fetchone()  # type: ignore[misc]
    assert agents > 100_000
    params = {
        "org_id": default_org,
        "pattern": "%abc12%",
        "is_archived": None,
        "is_enabled": None,
        "limit": 20,
        "offset": 0,
    }
    # The plan for this search term, as the server makes it for a call with these values.
    (plan,) = seeded.execute(f"EXPLAIN (FORMAT JSON) {query.sql}", params).fetchone()  # type: ignore[misc]
    nodes = list(plan_nodes(plan[0]["Plan"]))
    assert "agents_name_trgm_idx" in {node.get("Index Name") for node in nodes}, nodes
    assert not [node for node in nodes if node["Node Type"] == "Seq Scan"]
