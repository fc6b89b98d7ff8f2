"""The envelopes every list endpoint shares (offset pages and keyset pages) and their query parameters."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from litestar.params import QueryParameter
from pydantic import BaseModel

from agentpress.web.errors import field_error

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

# A page whose offset, (page - 1) * page_size, fits PostgreSQL's bigint (past it: "bigint out of range"): 2**53,
# rather than the last such page, because the document's bounds are floats, and past 2**53 a float no longer tells
# neighbouring integers apart (a validator would take 2**56 + 3 as at most 2**56).
MAX_PAGE = 2**53

PageNumber = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="1-based page number")]
PageSize = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE, description=f"at most {MAX_PAGE_SIZE}")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page; omit for the first")]


class Page(BaseModel, Generic[T]):
    """An offset page: the items of page `page`, and how many items there are in all."""

    items: list[T]
    total: int
    page: int
    page_size: int


class CursorPage(BaseModel, Generic[T]):
    """A keyset page: the items after the cursor, and the cursor of the next page (null on the last)."""

    items: list[T]
    next_cursor: str | None


def offset(page: int, page_size: int) -> int:
    return (page - 1) * page_size


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque cursor for the keyset position after the last item of a page."""
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: set[str]) -> dict[str, Any]:
    """The position in `cursor`; a cursor that was not made by encode_cursor with these keys is a 400."""
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        position = None
    if not isinstance(position, dict) or set(position) != keys:
        raise field_error(400, "invalid_request", "cursor", "is not a cursor this list returned")
    return position


def contains_pattern(search: str) -> str:
    """A LIKE pattern matching names that contain `search` literally: its % and _ are not wildcards."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
