"""The PATCH shape (services.patching.lock_merge_write) on a real row: changes of one row take turns and keep
each other's fields; a missing row answers its 404; a refused change writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from agentpress.models.personas import Persona
from agentpress.repositories import personas
from agentpress.services.patching import lock_merge_write, sent
from agentpress.web.errors import ApiError, field_error, not_found

pytestmark = pytest.mark.anyio

Check = Callable[[Persona, Persona], Awaitable[None]]


@asynccontextmanager
async def connect(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    # Autocommit, as the request's connection is: the helper's transaction is the only one.
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        yield conn


async def make_persona(conn: psycopg.AsyncConnection[Any]) -> Persona:
    cursor = await conn.execute("INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme') RETURNING id")
    row = await cursor.fetchone()
    assert row is not None
    return await personas.create_persona(
        conn, org_id=row[0], name="Guide", description=None, prompt=None, style={}, avatar_url=None
    )


async def change(
    conn: psycopg.AsyncConnection[Any], persona: Persona, changes: dict[str, Any], *, check: Check | None = None
) -> Persona:
    """A persona's PATCH as api/personas.py makes it."""
    return await lock_merge_write(
        conn,
        lock=lambda: personas.get_persona_for_update(conn, org_id=persona.org_id, persona_id=persona.id),
        merge=sent(changes),
        check=check,
        write=lambda _, merged: personas.update_persona(
            conn,
            org_id=persona.org_id,
            persona_id=persona.id,
            name=merged.name,
            description=merged.description,
            prompt=merged.prompt,
            style=merged.style,
            avatar_url=merged.avatar_url,
        ),
        missing=not_found("persona"),
    )


async def wait_until_blocked(conn: psycopg.AsyncConnection[Any], pid: int) -> None:
    """Until the backend `pid` waits for a lock (at most 10 s)."""
    for _ in range(1000):
        cursor = await conn.execute(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %(pid)s", {"pid": pid}
        )
        row = await cursor.fetchone()
        if row is not None and row[0]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for a lock")


async def test_two_changes_of_one_row_take_turns_and_keep_each_others_fields(database_url: str) -> None:
    async with connect(database_url) as first, connect(database_url) as second, connect(database_url) as watcher:
        persona = await make_persona(first)
        locked, release = asyncio.Event(), asyncio.Event()

        async def hold(current: Persona, merged: Persona) -> None:
            locked.set()
            await release.wait()

        changing = asyncio.create_task(change(first, persona, {"description": "from the first"}, check=hold))
        await locked.wait()
        # The second change reads the row only once the first has committed: it merges into that, rather than
        # writing back the description it would have read before.
        waiting = asyncio.create_task(change(second, persona, {"prompt": "from the second"}))
        await wait_until_blocked(watcher, second.info.backend_pid)
        release.set()
        await changing
        result = await waiting
        assert (result.description, result.prompt) == ("from the first", "from the second")


async def test_a_missing_row_answers_the_given_404_or_the_one_a_lookup_makes(database_url: str) -> None:
    async with connect(database_url) as conn:
        persona = (await make_persona(conn)).model_copy(update={"id": uuid4()})
        with pytest.raises(ApiError) as raised:
            await change(conn, persona, {"name": "Renamed"})
        assert raised.value.body.model_dump(exclude_none=True) == {
            "status_code": 404,
            "code": "not_found",
            "detail": "persona not found",
            "errors": [],
        }

        async def which_one() -> ApiError:
            return not_found("knowledge base")

        with pytest.raises(ApiError) as raised:
            await lock_merge_write(
                conn,
                lock=lambda: personas.get_persona_for_update(conn, org_id=persona.org_id, persona_id=persona.id),
                merge=sent({}),
                write=lambda current, _: personas.get_persona(conn, org_id=current.org_id, persona_id=current.id),
                missing=which_one,
            )
        assert raised.value.body.detail == "knowledge base not found"


async def test_a_refused_merge_or_check_writes_nothing(database_url: str) -> None:
    async with connect(database_url) as conn:
        persona = await make_persona(conn)

        async def refuse(current: Persona, merged: Persona) -> None:
            raise field_error(422, "invalid_value", "name", "is refused")

        with pytest.raises(ApiError):
            await change(conn, persona, {"name": "Refused"}, check=refuse)

        def refuse_merge(current: Persona) -> Persona:
            raise field_error(400, "invalid_request", "name", "may be left out but not null")

        with pytest.raises(ApiError):
            await lock_merge_write(
                conn,
                lock=lambda: personas.get_persona_for_update(conn, org_id=persona.org_id, persona_id=persona.id),
                merge=refuse_merge,
                write=lambda _, merged: personas.update_persona(
                    conn,
                    org_id=persona.org_id,
                    persona_id=persona.id,
                    name="Never",
                    description=None,
                    prompt=None,
                    style={},
                    avatar_url=None,
                ),
                missing=not_found("persona"),
            )
        assert await personas.get_persona(conn, org_id=persona.org_id, persona_id=persona.id) == persona
        # Nothing was left locked: a change goes through at once.
        assert (await change(conn, persona, {"name": "Renamed"})).name == "Renamed"


def test_sent_keeps_what_was_left_out_and_clears_what_was_sent_as_null() -> None:
    persona = Persona.model_validate(
        {
            "id": uuid4(),
            "org_id": uuid4(),
            "name": "Guide",
            "description": "kept",
            "prompt": "cleared",
            "style": {},
            "avatar_url": None,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
    )
    merged = sent({"name": "Renamed", "prompt": None})(persona)
    assert (merged.name, merged.description, merged.prompt) == ("Renamed", "kept", None)
    assert isinstance(merged.id, UUID) and merged.id == persona.id
