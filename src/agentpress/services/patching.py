"""PATCH in one shape: lock the row, merge what the client sent into it, check the result, write it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from psycopg import AsyncConnection
from pydantic import BaseModel

from agentpress.web.errors import ApiError

Row = TypeVar("Row", bound=BaseModel)
Merged = TypeVar("Merged")
Written = TypeVar("Written")

# The answer when there is no such row: a fixed 404, or one that needs a lookup to say what is missing.
Missing = ApiError | Callable[[], Awaitable[ApiError]]


def sent(changes: Mapping[str, Any]) -> Callable[[Row], Row]:
    """The usual merge: the row with the fields the client sent. A field left out keeps its value; one sent
    as null is cleared (each update model lets null through only for the fields that may be cleared)."""

    def merge(current: Row) -> Row:
        return current.model_copy(update=changes)

    return merge


async def lock_merge_write(
    conn: AsyncConnection[Any],
    *,
    lock: Callable[[], Awaitable[Row | None]],
    merge: Callable[[Row], Merged],
    write: Callable[[Row, Merged], Awaitable[Written | None]],
    missing: Missing,
    check: Callable[[Row, Merged], Awaitable[None]] | None = None,
) -> Written:
    """Change one row in one transaction: `lock` reads it FOR UPDATE, `merge` applies the change (and may
    refuse it), `check` holds the result to the resource's rules, `write` stores it and returns the answer.

    The lock makes concurrent changes of one row take turns, each merging into the one committed before it:
    without it, two PATCHes of different fields would each write back the other's old value. A failure at
    any step rolls the transaction back; a missing row (or a write that finds none) raises `missing`.
    """
    async with conn.transaction():
        current = await lock()
        if current is None:
            raise await _error(missing)
        merged = merge(current)
        if check is not None:
            await check(current, merged)
        written = await write(current, merged)
    if written is None:
        # Under the lock the write finds the row; its None is the repository's type, answered as a missing row.
        raise await _error(missing)
    return written


async def _error(missing: Missing) -> ApiError:
    return missing if isinstance(missing, ApiError) else await missing()
