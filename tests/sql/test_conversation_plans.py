"""Plans of the conversation queries on the realistic data set (its conversations: seed_conversations.sql).

Listing uses the composite indexes, search the GIN index, and a keyset page deep in a list
reads about what the first page reads. Costs are compared as buffers touched, never as time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
import pytest

from agentpress.db.queries import Query, queries
from agentpress.repositories.message_search import search_messages

# The realistic data set (tests/sql/conftest.py) takes half a minute to build: the modules that read it run on one
# worker under `make test`, which builds it once.
pytestmark = pytest.mark.xdist_group("realistic")

THREADS_INDEX = "threads_user_id_created_at_idx"
MESSAGES_INDEX = "messages_thread_id_created_at_idx"
SEARCH_INDEX = "messages_text_content_gin_idx"
# Words of the seed: "zanzibar" is in one message in 10,000, "refund" in one in ten.
RARE, COMMON = "zanzibar", "refund"


@dataclass(frozen=True)
class Seeded:
    conn: psycopg.Connection[Any]
    url: str
    org_id: UUID  # the default org
    heavy_user_id: UUID  # 20,000 threads there
    light_user_id: UUID  # 40 threads there
    big_thread_id: UUID  # the heavy user's newest thread: 50,000 messages


@pytest.fixture(scope="module")
def seeded(realistic_url: str) -> Iterator[Seeded]:
    with psycopg.connect(realistic_url, autocommit=True) as conn:

        def user(k: int) -> UUID:
            found = conn.execute("SELECT id FROM users WHERE email = %s", [f"user{k}@conversations.example.com"])
            (user_id,) = found.fetchone()  # type: ignore[misc]
            return UUID(str(user_id))

        (org_id,) = conn.execute("SELECT id FROM orgs WHERE is_default").fetchone()  # type: ignore[misc]
        (big,) = conn.execute("SELECT md5('thread:1')::uuid").fetchone()  # type: ignore[misc]
        # User 20 is in the default org too (user k is in org k % 20).
        yield Seeded(conn, realistic_url, org_id, user(0), user(20), big)


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def indexes(plan: dict[str, Any]) -> set[str]:
    return {node["Index Name"] for node in plan_nodes(plan) if "Index Name" in node}


def seq_scans(plan: dict[str, Any]) -> set[str]:
    return {node["Relation Name"] for node in plan_nodes(plan) if node["Node Type"] == "Seq Scan"}


def root(explained: Any) -> dict[str, Any]:
    document = json.loads(explained) if isinstance(explained, str) else explained
    plan: dict[str, Any] = document[0]["Plan"]
    return plan


def generic_plan(conn: psycopg.Connection[Any], query: Query) -> dict[str, Any]:
    """The plan for any values, as a prepared statement gets once the server switches to it."""
    (explained,) = conn.execute(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {query.positional_sql()}").fetchone()  # type: ignore[misc]
    return root(explained)


def custom_plan(conn: psycopg.Connection[Any], query: Query, *, analyze: bool = False, **values: Any) -> dict[str, Any]:
    """The plan for these values (as an unprepared statement gets), run with ANALYZE when asked."""
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    params = {name: value for name, value in values.items() if name in query.params}
    assert params.keys() == query.params, f"{query.name} takes {sorted(query.params)}"
    (explained,) = conn.execute(f"EXPLAIN ({options}) {query.sql}", params).fetchone()  # type: ignore[misc]
    return root(explained)


def buffers(plan: dict[str, Any]) -> int:
    """Shared buffers the whole plan touched, from cache or disk: the work, whatever is cached."""
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


def thread_position(seeded: Seeded, user_id: UUID, skip: int) -> tuple[datetime, UUID]:
    """(created_at, id) of the user's thread after `skip` newer ones: a keyset cursor's position."""
    found = seeded.conn.execute(
        "SELECT created_at, id FROM threads WHERE org_id = %s AND user_id = %s "
        "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
        [seeded.org_id, user_id, skip],
    ).fetchone()
    assert found is not None
    return found[0], found[1]


def test_the_seed_has_the_sizes_it_promises(seeded: Seeded) -> None:
    conn = seeded.conn
    # seed.sql's threads and messages are beside these: count the conversation users' own.
    counted = conn.execute(
        "SELECT count(DISTINCT t.id), count(m.id) FROM threads AS t "
        "JOIN users AS u ON u.id = t.user_id AND u.email LIKE '%@conversations.example.com' "
        "LEFT JOIN messages AS m ON m.thread_id = t.id"
    ).fetchone()
    assert counted is not None
    assert counted == (100_000, 500_000)
    assert conn.execute("SELECT count(*) FROM threads WHERE user_id = %s", [seeded.heavy_user_id]).fetchone() == (
        20_000,
    )
    assert conn.execute("SELECT count(*) FROM messages WHERE thread_id = %s", [seeded.big_thread_id]).fetchone() == (
        50_000,
    )
    # message_count agrees with the rows, as the appends keep it.
    (agrees,) = conn.execute(
        "SELECT bool_and(message_count = (SELECT count(*) FROM messages WHERE thread_id = t.id)) FROM threads AS t"
    ).fetchone()  # type: ignore[misc]
    assert agrees
    assert conn.execute("SELECT message_count FROM threads WHERE id = %s", [seeded.big_thread_id]).fetchone() == (
        50_000,
    )


# The pages. Their totals (count_threads, count_threads_matching) are left out: counting a heavy
# user's matches for a common pattern may rightly read the whole table, and ANALYZE's random
# sample decides which way the planner goes.
THREAD_LISTINGS = ["list_threads", "list_threads_after", "search_threads"]


@pytest.mark.parametrize("name", THREAD_LISTINGS)
def test_thread_listings_use_the_composite_index(seeded: Seeded, name: str) -> None:
    query = getattr(queries.threads, name)
    after_created_at, after_id = thread_position(seeded, seeded.heavy_user_id, 10_000)
    values = {
        "org_id": seeded.org_id,
        "agent_id": None,
        "pattern": "%thread 1%",
        "limit": 20,
        "offset": 0,
        "after_created_at": after_created_at,
        "after_id": after_id,
    }
    # Both plans matter: psycopg prepares a statement on its sixth run on a connection, and the
    # server then moves to the generic plan if it looks no worse.
    plans = {"generic": generic_plan(seeded.conn, query)}
    for who, user_id in (("heavy", seeded.heavy_user_id), ("light", seeded.light_user_id)):
        plans[who] = custom_plan(seeded.conn, query, user_id=user_id, **values)
    for kind, plan in plans.items():
        assert THREADS_INDEX in indexes(plan), (kind, plan)
        assert not seq_scans(plan), (kind, plan)


@pytest.mark.parametrize("name", ["list_messages", "list_messages_after"])
def test_message_listings_use_the_thread_index(seeded: Seeded, name: str) -> None:
    query = getattr(queries.messages, name)
    (after_created_at, after_id) = seeded.conn.execute(  # type: ignore[misc]
        "SELECT created_at, id FROM messages WHERE thread_id = %s ORDER BY created_at, id OFFSET 25000 LIMIT 1",
        [seeded.big_thread_id],
    ).fetchone()
    values = {
        "org_id": seeded.org_id,
        "user_id": seeded.heavy_user_id,
        "thread_id": seeded.big_thread_id,
        "limit": 50,
        "after_created_at": after_created_at,
        "after_id": after_id,
    }
    for kind, plan in (
        ("generic", generic_plan(seeded.conn, query)),
        ("custom", custom_plan(seeded.conn, query, **values)),
    ):
        assert MESSAGES_INDEX in indexes(plan), (kind, plan)
        assert not seq_scans(plan), (kind, plan)


def search_values(seeded: Seeded, q: str, **overrides: Any) -> dict[str, Any]:
    return {
        "q": q,
        "org_id": seeded.org_id,
        "user_id": seeded.heavy_user_id,
        "thread_id": None,
        "agent_id": None,
        "limit": 20,
        "offset": 0,
        **overrides,
    }


@pytest.mark.parametrize("name", ["search_messages", "count_message_matches"])
@pytest.mark.parametrize("q", [RARE, COMMON, "refund invoice", '"refund invoice" -coffee'])
def test_search_uses_the_gin_index(seeded: Seeded, name: str, q: str) -> None:
    # Custom plans are the truth here: the repository never lets the search be prepared (below).
    # The user with 20,000 threads; in the thread of 50,000 messages, the GIN index and the
    # thread's index are combined.
    query = getattr(queries.message_search, name)
    for filters in ({}, {"thread_id": seeded.big_thread_id}):
        plan = custom_plan(seeded.conn, query, **search_values(seeded, q, **filters))
        assert SEARCH_INDEX in indexes(plan), (filters, plan)
        # Reading all the threads table can be the cheaper way to the user's 20,000 threads
        # (with better statistics the planner does so); reading all the messages never is.
        assert "messages" not in seq_scans(plan), (filters, plan)


def test_the_agent_filter_keeps_the_gin_index_for_a_user_with_many_threads(seeded: Seeded) -> None:
    (agent_id,) = seeded.conn.execute(  # type: ignore[misc]
        "SELECT agent_id FROM threads WHERE id = %s", [seeded.big_thread_id]
    ).fetchone()
    plan = custom_plan(
        seeded.conn, queries.message_search.search_messages, **search_values(seeded, RARE, agent_id=agent_id)
    )
    assert SEARCH_INDEX in indexes(plan), plan
    assert "messages" not in seq_scans(plan), plan


def test_for_a_user_with_few_threads_search_goes_through_them(seeded: Seeded) -> None:
    # Cheaper than the GIN index when the word is common: the 400 messages of 40 threads are
    # fewer than the org's matches. Planning with the values is what makes this choice.
    plan = custom_plan(
        seeded.conn,
        queries.message_search.search_messages,
        analyze=True,
        **search_values(seeded, COMMON, user_id=seeded.light_user_id),
    )
    assert {THREADS_INDEX, MESSAGES_INDEX} <= indexes(plan), plan
    assert SEARCH_INDEX not in indexes(plan), plan
    assert buffers(plan) < 2_000, plan


def test_the_generic_search_plan_would_miss_the_gin_index(seeded: Seeded) -> None:
    """Why the search is never prepared: its generic plan walks every thread of the user."""
    query = queries.message_search.search_messages
    assert SEARCH_INDEX not in indexes(generic_plan(seeded.conn, query))

    values = search_values(seeded, RARE)
    custom = custom_plan(seeded.conn, query, analyze=True, **values)
    with psycopg.connect(seeded.url, autocommit=True) as conn:
        # The parameters in the order positional_sql numbers them: by first use.
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", query.sql)))
        types = ", ".join({"q": "text", "limit": "bigint", "offset": "bigint"}.get(name, "uuid") for name in names)
        conn.execute(f"PREPARE generic_search ({types}) AS {query.positional_sql()}")
        conn.execute("SET plan_cache_mode = force_generic_plan")
        cursor = psycopg.ClientCursor(conn)  # EXPLAIN EXECUTE takes its arguments as literals
        cursor.execute(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE generic_search ({', '.join(['%s'] * len(names))})",
            [values[name] for name in names],
        )
        (explained,) = cursor.fetchone()  # type: ignore[misc]
    generic = root(explained)
    assert SEARCH_INDEX not in indexes(generic)
    # Measured: about 280 buffers through the GIN index, about 265,000 through the user's threads.
    assert buffers(generic) > 20 * buffers(custom), (buffers(generic), buffers(custom))


@pytest.mark.anyio
async def test_the_repository_never_prepares_the_search(seeded: Seeded) -> None:
    async with await psycopg.AsyncConnection.connect(seeded.url, autocommit=True) as conn:
        for _ in range(12):
            items, total = await search_messages(
                conn,
                org_id=seeded.org_id,
                user_id=seeded.heavy_user_id,
                q=RARE,
                thread_id=None,
                agent_id=None,
                limit=5,
                offset=0,
            )
            assert len(items) == 5 and total > 5
            # A control: a statement run the same way through the registry does get prepared.
            await queries.threads.count_threads.scalar(
                conn, int, org_id=seeded.org_id, user_id=seeded.heavy_user_id, agent_id=None
            )
        assert conn.prepare_threshold == 5
        cursor = await conn.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in await cursor.fetchall()]
    assert any("threads.count_threads" in statement for statement in prepared), prepared
    assert not any("message_search." in statement for statement in prepared), prepared


def test_a_deep_keyset_page_costs_what_the_first_does(seeded: Seeded) -> None:
    conn, user_id = seeded.conn, seeded.heavy_user_id
    values = {"org_id": seeded.org_id, "user_id": user_id, "agent_id": None, "limit": 20}
    after_created_at, after_id = thread_position(seeded, user_id, 10_000)
    first = custom_plan(conn, queries.threads.list_threads, analyze=True, offset=0, **values)
    deep = custom_plan(
        conn,
        queries.threads.list_threads_after,
        analyze=True,
        after_created_at=after_created_at,
        after_id=after_id,
        **values,
    )
    offset = custom_plan(conn, queries.threads.list_threads, analyze=True, offset=10_000, **values)
    assert deep["Actual Rows"] == first["Actual Rows"] == offset["Actual Rows"] == 20
    counts = {"first": buffers(first), "keyset": buffers(deep), "offset": buffers(offset)}
    # Measured: 4, 4 and about 550 buffers; plan costs about 31, 34 and 2,500.
    assert counts["keyset"] <= 3 * counts["first"], counts
    assert deep["Total Cost"] <= 3 * first["Total Cost"], (deep["Total Cost"], first["Total Cost"])
    # The contrast that shows the measure measures: skipping 10,000 rows reads them.
    assert counts["offset"] >= 10 * counts["first"], counts
    assert offset["Total Cost"] >= 10 * first["Total Cost"], (offset["Total Cost"], first["Total Cost"])
    # The position is an index condition, not a filter over the rows before it.
    assert any("ROW(created_at, id) <" in node.get("Index Cond", "") for node in plan_nodes(deep)), deep


def test_a_deep_keyset_page_of_messages_costs_what_the_first_does(seeded: Seeded) -> None:
    conn = seeded.conn
    values = {"org_id": seeded.org_id, "user_id": seeded.heavy_user_id, "thread_id": seeded.big_thread_id, "limit": 50}
    (after_created_at, after_id) = conn.execute(  # type: ignore[misc]
        "SELECT created_at, id FROM messages WHERE thread_id = %s ORDER BY created_at, id OFFSET 25000 LIMIT 1",
        [seeded.big_thread_id],
    ).fetchone()
    first = custom_plan(conn, queries.messages.list_messages, analyze=True, **values)
    deep = custom_plan(
        conn,
        queries.messages.list_messages_after,
        analyze=True,
        after_created_at=after_created_at,
        after_id=after_id,
        **values,
    )
    assert deep["Actual Rows"] == first["Actual Rows"] == 50
    assert buffers(deep) <= 3 * buffers(first), (buffers(deep), buffers(first))
