"""Full-text search over the signed-in user's messages in the org."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from agentpress.models.message_search import MessageSearchResult
from agentpress.repositories import message_search
from agentpress.web.access import Org
from agentpress.web.dependencies import Conn
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset

MAX_QUERY_LENGTH = 500

SearchText = Annotated[
    str,
    QueryParameter(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        description='Web search syntax: words (all must match), "a phrase", `or`, `-word` to exclude',
    ),
]


class MessageSearchController(Controller):
    path = "/messages/search"
    tags = ["conversations"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get(
        "/",
        operation_id="search_messages",
        summary="Search the messages of my threads in the org, best match first, with highlighted snippets",
    )
    async def search_messages(
        self,
        conn: Conn,
        org: Org,
        q: FromQuery[SearchText],
        thread_id: FromQuery[UUID | None] = None,
        agent_id: FromQuery[UUID | None] = None,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[MessageSearchResult]:
        # Reading only, so platform guests may search too. A text of stop words only ("the")
        # matches nothing: an empty page, not an error.
        items, total = await message_search.search_messages(
            conn,
            org_id=org.org_id,
            user_id=org.user.id,
            q=q,
            thread_id=thread_id,
            agent_id=agent_id,
            limit=page_size,
            offset=offset(page, page_size),
        )
        return Page(items=items, total=total, page=page, page_size=page_size)
