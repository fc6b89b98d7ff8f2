"""Plan contracts: a query's `-- uses:` and `-- never:` lines, held on the realistic data set.

Each query with a contract is planned twice: generically (GENERIC_PLAN: the plan a prepared
statement may settle on for any values; psycopg prepares a statement from its fifth run) and for
representative values drawn from the data set (the default org, its busiest user and thread, ...).
Both plans must use every index the contract names and contain none of the nodes it forbids.
Every index in the schema is named by a contract, backs a constraint, or says in a comment why it exists.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from agentpress.db.queries import Query, queries
from agentpress.db.sqlcheck import statement_name

# The realistic data set (tests/sql/conftest.py) takes half a minute to build: the modules that read it run on one
# worker under `make test`, which builds it once.
pytestmark = pytest.mark.xdist_group("realistic")

CONTRACTED = [query for query in queries if query.uses or query.never]
ROUND_VECTOR = "[" + ",".join(["0.01"] * 3072) + "]"
# By type, for the parameters the data set has no better value for.
BY_TYPE: dict[str, Any] = {
    "uuid": uuid.UUID(int=1),
    "text": "x",
    "citext": "x@example.com",
    "integer": 20,
    "bigint": 20,
    "smallint": 1,
    "boolean": True,
    "double precision": 0.5,
    "numeric": 0.5,
    "real": 0.5,
    "timestamp with time zone": datetime.now(UTC),
    "date": datetime.now(UTC).date(),
    "jsonb": Jsonb({}),
    "bytea": b"x",
    "interval": timedelta(minutes=5),
    "uuid[]": [uuid.UUID(int=1)],
    "text[]": ["x"],
    "halfvec": ROUND_VECTOR,
    "vector": ROUND_VECTOR,
}


@pytest.fixture(scope="module")
def seeded(realistic_url: str) -> Iterator[tuple[psycopg.Connection[Any], dict[str, Any]]]:
    with psycopg.connect(realistic_url, autocommit=True) as conn:
        # The test prepares each contracted query itself; psycopg's own prepared statements would only get in the way.
        conn.prepare_threshold = None
        yield conn, representative_values(conn)


def representative_values(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Values by parameter name: the default org (the busiest), its busiest user, thread and agent, ..."""

    def one(sql: str) -> Any:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None

    org = one("SELECT id FROM orgs WHERE is_default")
    in_org = {
        "agent_id": "agents",
        "persona_id": "personas",
        "tool_id": "tools",
        "provider_id": "model_providers",
        "model_id": "models",
        "knowledge_base_id": "knowledge_bases",
        "file_id": "knowledge_base_files",
        "freeform_text_id": "knowledge_base_freeform_texts",
        "table_id": "knowledge_base_tables",
        "web_url_id": "knowledge_base_web_urls",
        "task_id": "tasks",
        "schedule_id": "schedules",
        "invitation_id": "invitations",
        "channel_id": "channels",
    }
    values: dict[str, Any] = {
        name: one(f"SELECT id FROM {table} ORDER BY org_id = '{org}' DESC, id LIMIT 1")  # noqa: S608 (names above)
        for name, table in in_org.items()
    }
    heavy = one("SELECT id FROM users WHERE email = 'user0@conversations.example.com'")
    big_thread = one("SELECT md5('thread:1')::uuid")
    values |= {
        "org_id": org,
        "user_id": heavy,
        "thread_id": big_thread,
        "message_id": one(f"SELECT id FROM messages WHERE thread_id = '{big_thread}' LIMIT 1"),  # noqa: S608
        "source_id": values["file_id"],
        "agent_ids": [values["agent_id"]],
        "pattern": "%abc12%",
        "q": "zanzibar",
        "limit": 20,
        "offset": 0,
        "after_created_at": datetime.now(UTC) - timedelta(days=1),
        "after_id": uuid.UUID(int=0),
        "since": datetime.now(UTC) - timedelta(days=1),
        "until": datetime.now(UTC),
        "from_day": date.today() - timedelta(days=365),
        "to_day": date.today(),
        "granularity": "month",
        "status": "queued",
        "worker_id": "worker-1",
        "is_enabled": None,
        "is_archived": None,
    }
    return values


def representative(query: Query, name: str, kind: str, values: dict[str, Any]) -> Any:
    """The value a typical call passes: none for an optional filter, else the data set's or the type's."""
    if re.search(rf"%\({name}\)s::[a-z\[\]]+ IS NULL", query.sql):
        return None
    known = values.get(name)
    # A name means different things in places: provider_id is a model provider's uuid, or an OAuth account's text.
    if known is not None and (kind == "uuid") == isinstance(known, uuid.UUID):
        return known
    return BY_TYPE[re.sub(r"\(.*\)", "", kind)]


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def root(explained: Any) -> dict[str, Any]:
    plan: dict[str, Any] = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    return plan


def parameter_types(conn: psycopg.Connection[Any], query: Query) -> list[str]:
    name = statement_name(query)
    prepared = conn.pgconn.prepare(name, query.positional_sql().encode())
    assert prepared.status == psycopg.pq.ExecStatus.COMMAND_OK, prepared.error_message
    found = conn.execute(
        "SELECT ARRAY(SELECT format_type(t, NULL) FROM unnest(parameter_types) AS t) "
        "FROM pg_prepared_statements WHERE name = %s",
        [name.decode()],
    ).fetchone()
    assert found is not None
    types: list[str] = found[0]
    return types


def breaches(query: Query, plan: dict[str, Any]) -> list[str]:
    """What in the plan breaks the query's contract."""
    nodes = list(plan_nodes(plan))
    used = {node["Index Name"] for node in nodes if "Index Name" in node}
    found = [f"missing index {index}" for index in query.uses if index not in used]
    for forbidden in query.never:
        node_type, _, relation = forbidden.partition(" on ")
        for node in nodes:
            if node["Node Type"] == node_type and relation in ("", node.get("Relation Name")):
                found.append(f"has {node_type} on {node.get('Relation Name', '-')} (never: {forbidden})")
    return found


def describe(plan: dict[str, Any]) -> str:
    return "; ".join(
        f"{node['Node Type']}{' on ' + node['Relation Name'] if 'Relation Name' in node else ''}"
        f"{' using ' + node['Index Name'] if 'Index Name' in node else ''}"
        for node in plan_nodes(plan)
    )


def test_hot_queries_carry_contracts() -> None:
    names = {query.name for query in CONTRACTED}
    hot = {
        "get_session_user",
        "get_api_key_for_token",
        "list_threads_after",
        "list_messages_after",
        "search_messages",
        "claim_tasks",
    }
    assert hot - names == set()


@pytest.mark.parametrize("query", CONTRACTED, ids=[f"{q.domain}.{q.name}" for q in CONTRACTED])
def test_the_plan_keeps_its_contract(seeded: tuple[psycopg.Connection[Any], dict[str, Any]], query: Query) -> None:
    conn, values = seeded
    if not query.custom_plan_only:
        (generic,) = conn.execute(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {query.positional_sql()}").fetchone()  # type: ignore[misc]
        problems = breaches(query, root(generic))
        assert not problems, f"{query.location}: {query.name} generic plan {problems}: {describe(root(generic))}"

    types = parameter_types(conn, query)
    params = {
        name: representative(query, name, kind, values)
        for name, kind in zip(query.positional_params(), types, strict=True)
    }
    with conn.transaction():
        # Nothing runs: EXPLAIN without ANALYZE only plans, but a rollback keeps even that honest.
        (custom,) = conn.execute(f"EXPLAIN (FORMAT JSON) {query.sql}", params).fetchone()  # type: ignore[misc]
    problems = breaches(query, root(custom))
    assert not problems, f"{query.location}: {query.name} plan for {params} {problems}: {describe(root(custom))}"


def test_a_broken_contract_is_named(seeded: tuple[psycopg.Connection[Any], dict[str, Any]]) -> None:
    conn, _ = seeded
    query = queries.threads.list_threads
    (plan,) = conn.execute(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {query.positional_sql()}").fetchone()  # type: ignore[misc]
    scan = next(node for node in plan_nodes(root(plan)) if node.get("Relation Name") == "threads")
    broken = dataclasses.replace(query, uses=("threads_agent_id_idx",), never=(f"{scan['Node Type']} on threads",))
    assert breaches(broken, root(plan)) == [
        "missing index threads_agent_id_idx",
        f"has {scan['Node Type']} on threads (never: {scan['Node Type']} on threads)",
    ]


def test_every_index_is_in_a_contract_or_says_why_it_exists(
    seeded: tuple[psycopg.Connection[Any], dict[str, Any]],
) -> None:
    conn, _ = seeded
    contracted = {index for query in CONTRACTED for index in query.uses}
    rows = conn.execute(
        "SELECT i.relname FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid "
        "JOIN pg_namespace AS n ON n.oid = i.relnamespace "
        "WHERE n.nspname = 'public' "
        "AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conindid = x.indexrelid) "
        "AND obj_description(x.indexrelid, 'pg_class') IS NULL "
        "ORDER BY 1"
    ).fetchall()
    unexplained = sorted({name for (name,) in rows} - contracted)
    assert unexplained == [], f"indexes in no contract and without a COMMENT ON INDEX saying why: {unexplained}"


def test_the_name_search_uses_the_trigram_index_on_100k_agents(
    seeded: tuple[psycopg.Connection[Any], dict[str, Any]],
) -> None:
    conn, values = seeded
    query = queries.agents.search_agents
    (agents,) = conn.execute("SELECT count(*) FROM agents WHERE org_id = %s", [values["org_id"]]).fetchone()  # type: ignore[misc]
    assert agents > 100_000
    params = {
        "org_id": values["org_id"],
        "pattern": "%abc12%",
        "is_archived": None,
        "is_enabled": None,
        "limit": 20,
        "offset": 0,
    }
    (plan,) = conn.execute(f"EXPLAIN (FORMAT JSON) {query.sql}", params).fetchone()  # type: ignore[misc]
    nodes = list(plan_nodes(root(plan)))
    assert "agents_name_trgm_idx" in {node.get("Index Name") for node in nodes}, nodes
    assert not [node for node in nodes if node["Node Type"] == "Seq Scan"]
