"""Conversations: a user's threads, their messages (typed parts, appended in batches) and feedback on them.

A thread and the first page of its messages are read through the Redis cache; every write that
changes them invalidates them after its transaction commits. A signed-in user reads and writes their
own threads, and appends only `user` messages; an org API key with messages:read / messages:write
(the agent runtime) reads and appends to any thread of its org, any role, with token counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar
from uuid import UUID

from litestar import Controller, MediaType, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from psycopg import AsyncConnection
from pydantic import ValidationError

from agentpress.models.api_keys import ApiKeyScope
from agentpress.models.messages import (
    PART_ADAPTER,
    Feedback,
    FeedbackPut,
    Message,
    MessageList,
    MessagesAppend,
    NewMessage,
    TextPart,
)
from agentpress.models.threads import Thread, ThreadCreate, ThreadUpdate
from agentpress.repositories import feedback, messages, threads
from agentpress.services import conversations
from agentpress.web.access import Caller, CallerDep, Org
from agentpress.web.connections import RequestDatabase
from agentpress.web.dependencies import CacheDep, Conn, Db
from agentpress.web.errors import ApiError, FieldError, field_error, not_found
from agentpress.web.idempotent import idempotent
from agentpress.web.pagination import (
    DEFAULT_PAGE_SIZE,
    Cursor,
    CursorPage,
    Page,
    PageNumber,
    PageSize,
    contains_pattern,
    decode_cursor,
    encode_cursor,
    offset,
)

THREAD_PATH = "/{thread_id:uuid}"
MESSAGE_PATH = "/{thread_id:uuid}/messages/{message_id:uuid}"
FEEDBACK_PATH = "/{message_id:uuid}/feedback"
MESSAGES_PAGE_SIZE = 50
# What only a model's turn carries: a user may not set them, so analytics count what models did.
GENERATED_FIELDS = ("model", "input_tokens", "output_tokens")

ThreadCursor = Annotated[
    str | None,
    QueryParameter(
        description="keyset pages instead of offset pages: empty for the first, then next_cursor of the previous one"
    ),
]


class _Positioned(Protocol):
    @property
    def id(self) -> UUID: ...

    @property
    def created_at(self) -> datetime: ...


P = TypeVar("P", bound=_Positioned)


def _position(cursor: str) -> tuple[datetime, UUID]:
    """The keyset position (created_at, id) in a cursor made by _keyset_page; any other cursor is a 400."""
    position = decode_cursor(cursor, {"created_at", "id"})
    try:
        return datetime.fromisoformat(position["created_at"]), UUID(position["id"])
    except (TypeError, ValueError, AttributeError):  # AttributeError: UUID() of a number
        raise field_error(400, "invalid_request", "cursor", "is not a cursor this list returned") from None


def _keyset_page(items: list[P], page_size: int) -> CursorPage[P]:
    """A page from up to page_size + 1 items: the extra one only says that a next page exists."""
    page = items[:page_size]
    next_cursor = None
    if len(items) > page_size:
        last = page[-1]
        next_cursor = encode_cursor({"created_at": last.created_at.isoformat(), "id": str(last.id)})
    return CursorPage(items=page, next_cursor=next_cursor)


def _part_field(where: str, error: Any, part: dict[str, Any]) -> str:
    """The field of a part that failed, as the client wrote it: `messages[0].parts[2].arguments`."""
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return f"{where}.type"
    loc = list(error["loc"])
    # A discriminated union puts the part's type first in the location; the client never wrote it.
    if loc and loc[0] == part.get("type"):
        loc = loc[1:]
    return where + "".join(f"[{item}]" if isinstance(item, int) else f".{item}" for item in loc)


def validate_messages(data: MessagesAppend) -> list[NewMessage]:
    """Check every part by its type; all the failures in one 422, each naming its index and field."""
    errors: list[FieldError] = []
    validated = []
    for i, message in enumerate(data.messages):
        texts = []
        parts = []
        for j, raw in enumerate(message.parts):
            where = f"messages[{i}].parts[{j}]"
            try:
                part = PART_ADAPTER.validate_python(raw, strict=True)
            except ValidationError as exc:
                errors.extend(
                    FieldError(field=_part_field(where, error, raw), message=error["msg"]) for error in exc.errors()
                )
                continue
            if isinstance(part, TextPart):
                texts.append(part.text)
            parts.append(part.model_dump(mode="json"))
        validated.append(
            NewMessage(
                role=message.role,
                parts=parts,
                text_content="\n".join(texts),
                model=message.model,
                input_tokens=message.input_tokens,
                output_tokens=message.output_tokens,
            )
        )
    if errors:
        detail = "; ".join(f"{error.field}: {error.message}" for error in errors)
        raise ApiError(422, "invalid_value", detail, errors)
    return validated


def require_user_messages(data: MessagesAppend) -> None:
    """A signed-in user appends what they say: `user` messages, without a model or token counts. Anything else
    is a 403 naming each field; assistant, tool and system messages come from an API key with messages:write."""
    errors: list[FieldError] = []
    for i, message in enumerate(data.messages):
        if message.role != "user":
            errors.append(
                FieldError(
                    field=f"messages[{i}].role",
                    message=f"may not be {message.role} from a signed-in user: only an API key with messages:write "
                    "appends assistant, tool and system messages",
                )
            )
        errors.extend(
            FieldError(field=f"messages[{i}].{name}", message="is set only by an API key with messages:write")
            for name in GENERATED_FIELDS
            if getattr(message, name) is not None
        )
    if errors:
        detail = "; ".join(f"{error.field}: {error.message}" for error in errors)
        raise ApiError(403, "forbidden", detail, errors)


async def thread_user(conn: AsyncConnection[Any], caller: Caller, thread_id: UUID, scope: ApiKeyScope) -> UUID:
    """Whose thread the caller reaches: a user their own; a key with `scope` any thread of its org, as its
    owner's. 404 when there is no such thread."""
    if caller.org is not None:
        return caller.org.user.id
    caller.require_scope(scope)
    owner = await messages.get_thread_owner(conn, org_id=caller.org_id, thread_id=thread_id)
    if owner is None:
        raise not_found("thread")
    return owner


async def thread_owner(db: RequestDatabase, caller: Caller, thread_id: UUID, scope: ApiKeyScope) -> UUID:
    """thread_user for the cached routes, which take `db`: a connection only for an API key's lookup."""
    if caller.org is not None:
        return caller.org.user.id
    async with db.connection() as conn:
        return await thread_user(conn, caller, thread_id, scope)


class ThreadsController(Controller):
    path = "/threads"
    tags = ["conversations"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get(
        "/",
        operation_id="list_threads",
        summary="My threads in the org, newest first: offset pages with the total, or keyset pages with `cursor`",
    )
    async def list_threads(
        self,
        conn: Conn,
        org: Org,
        search: FromQuery[str | None] = None,
        agent_id: FromQuery[UUID | None] = None,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
        cursor: FromQuery[ThreadCursor] = None,
    ) -> Page[Thread] | CursorPage[Thread]:
        filters: dict[str, Any] = {
            "org_id": org.org_id,
            "user_id": org.user.id,
            "agent_id": agent_id,
            "pattern": contains_pattern(search) if search else None,
        }
        if cursor is None:
            items, total = await threads.list_threads_with_total(
                conn, limit=page_size, offset=offset(page, page_size), **filters
            )
            # Page[Thread], not Page: its items are encoded as Thread, without the `total` their rows carry.
            return Page[Thread](items=items, total=total, page=page, page_size=page_size)
        if page != 1:
            raise field_error(400, "invalid_request", "page", "cannot be combined with cursor")
        if cursor == "":
            items = await threads.list_threads(conn, limit=page_size + 1, offset=0, **filters)
        else:
            after_created_at, after_id = _position(cursor)
            items = await threads.list_threads_after(
                conn, after_created_at=after_created_at, after_id=after_id, limit=page_size + 1, **filters
            )
        return _keyset_page(items, page_size)

    @post(
        "/", operation_id="create_thread", summary="Start a thread, optionally with an agent of the org", **idempotent()
    )
    async def create_thread(self, conn: Conn, org: Org, data: JSONBody[ThreadCreate]) -> Thread:
        org.require_writer()
        # An agent_id of no agent of the org fails threads_agent_id_fkey: 422 naming agent_id.
        return await threads.create_thread(
            conn,
            org_id=org.org_id,
            user_id=org.user.id,
            agent_id=data.agent_id,
            name=data.name,
            metadata=data.metadata,
        )

    @get(
        THREAD_PATH,
        operation_id="get_thread",
        summary="One of my threads (cached); an API key with messages:read, any thread of its org",
    )
    async def get_thread(self, db: Db, cache: CacheDep, caller: CallerDep, thread_id: FromPath[UUID]) -> Thread:
        # `db`, not `conn`: a cache hit for a signed-in user takes no pool connection at all.
        user_id = await thread_owner(db, caller, thread_id, "messages:read")
        thread = await threads.get_thread_cached(
            db.connection, cache, org_id=caller.org_id, user_id=user_id, thread_id=thread_id
        )
        if thread is None:
            raise not_found("thread")
        return thread

    @patch(
        THREAD_PATH,
        operation_id="update_thread",
        summary="Rename, archive or re-attach a thread; fields left out keep their value",
    )
    async def update_thread(
        self, conn: Conn, cache: CacheDep, org: Org, thread_id: FromPath[UUID], data: JSONBody[ThreadUpdate]
    ) -> Thread:
        org.require_writer()
        changes = data.model_dump(exclude_unset=True)
        for required in ThreadUpdate.NOT_NULL:
            if changes.get(required, "") is None:
                raise field_error(400, "invalid_request", required, "may be left out but not null")
        thread = await threads.update_thread(
            conn,
            org_id=org.org_id,
            user_id=org.user.id,
            thread_id=thread_id,
            name=data.name,
            set_agent_id="agent_id" in changes,
            agent_id=data.agent_id,
            is_archived=data.is_archived,
            metadata=data.metadata,
        )
        if thread is None:
            raise not_found("thread")
        # After the (single-statement, autocommitted) write, never before: see Cache.invalidate.
        await cache.invalidate(threads.thread_cache_key(org_id=org.org_id, user_id=org.user.id, thread_id=thread_id))
        return thread

    @delete(THREAD_PATH, operation_id="delete_thread", summary="Delete a thread with its messages and their feedback")
    async def delete_thread(self, conn: Conn, cache: CacheDep, org: Org, thread_id: FromPath[UUID]) -> None:
        org.require_writer()
        if not await threads.delete_thread(conn, org_id=org.org_id, user_id=org.user.id, thread_id=thread_id):
            raise not_found("thread")
        await cache.invalidate(
            *threads.conversation_cache_keys(org_id=org.org_id, user_id=org.user.id, thread_id=thread_id)
        )

    @get(
        f"{THREAD_PATH}/messages",
        operation_id="list_thread_messages",
        summary="A thread's messages, oldest first, in keyset pages, each with my feedback; the first page is "
        "cached. An API key with messages:read reads any thread of its org (with its owner's feedback)",
    )
    async def list_messages(
        self,
        db: Db,
        cache: CacheDep,
        caller: CallerDep,
        thread_id: FromPath[UUID],
        cursor: FromQuery[Cursor] = None,
        page_size: FromQuery[PageSize] = MESSAGES_PAGE_SIZE,
    ) -> Response[CursorPage[Message]]:
        # `db`, not `conn`: the cached first page for a signed-in user takes no pool connection at all.
        user_id = await thread_owner(db, caller, thread_id, "messages:read")
        ids: dict[str, UUID] = {"org_id": caller.org_id, "user_id": user_id, "thread_id": thread_id}
        if await threads.get_thread_cached(db.connection, cache, **ids) is None:
            raise not_found("thread")
        if not cursor:
            # The page's JSON, cut from the rendered first messages: no model is built per request.
            page = await messages.first_messages_page_cached(db.connection, cache, page_size=page_size, **ids)
            rendered: Response[Any] = Response(content=page, media_type=MediaType.JSON)  # bytes go out as they are
            return rendered
        after_created_at, after_id = _position(cursor)
        async with db.connection() as conn:
            items = await messages.list_messages_after(
                conn, after_created_at=after_created_at, after_id=after_id, limit=page_size + 1, **ids
            )
        return Response(content=_keyset_page(items, page_size), media_type=MediaType.JSON)

    @post(
        f"{THREAD_PATH}/messages",
        operation_id="append_thread_messages",
        summary="Append messages (one, or an agent turn) to a thread in one transaction, in order",
        description=(
            'The body is {"messages": [...]}, a single message being a batch of one. Each message is '
            "{role, parts, model?, input_tokens?, output_tokens?}; an invalid part is a 422 naming its "
            "field, such as messages[0].parts[2].arguments. The answer lists the new messages in order. "
            "A signed-in user appends `user` messages to their own threads, without model or token counts "
            "(else 403 naming the field); an API key with messages:write appends any role to any thread of its org."
        ),
        **idempotent(caller=True),
    )
    async def append_messages(
        self,
        conn: Conn,
        cache: CacheDep,
        caller: CallerDep,
        thread_id: FromPath[UUID],
        data: JSONBody[MessagesAppend],
    ) -> MessageList:
        if caller.org is not None:
            caller.org.require_writer()
            require_user_messages(data)
        user_id = await thread_user(conn, caller, thread_id, "messages:write")
        new_messages = validate_messages(data)
        created = await messages.append_messages(
            conn, org_id=caller.org_id, user_id=user_id, thread_id=thread_id, messages=new_messages
        )
        if created is None:
            raise not_found("thread")
        await cache.invalidate(
            *threads.conversation_cache_keys(org_id=caller.org_id, user_id=user_id, thread_id=thread_id)
        )
        return MessageList(messages=created)

    @delete(MESSAGE_PATH, operation_id="delete_thread_message", summary="Delete a message of a thread")
    async def delete_message(
        self, conn: Conn, cache: CacheDep, org: Org, thread_id: FromPath[UUID], message_id: FromPath[UUID]
    ) -> None:
        org.require_writer()
        deleted = await conversations.delete_message(
            conn, org_id=org.org_id, user_id=org.user.id, thread_id=thread_id, message_id=message_id
        )
        if deleted is None:
            raise not_found("thread")
        if not deleted:
            raise not_found("message")
        await cache.invalidate(
            *threads.conversation_cache_keys(org_id=org.org_id, user_id=org.user.id, thread_id=thread_id)
        )


class MessagesController(Controller):
    path = "/messages"
    tags = ["conversations"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @put(
        FEEDBACK_PATH,
        operation_id="put_message_feedback",
        summary="Rate a message of one of my threads; a second rating replaces the first",
        status_code=200,
    )
    async def put_feedback(
        self, conn: Conn, cache: CacheDep, org: Org, message_id: FromPath[UUID], data: JSONBody[FeedbackPut]
    ) -> Feedback:
        org.require_writer()
        saved = await feedback.upsert_feedback(
            conn,
            org_id=org.org_id,
            user_id=org.user.id,
            message_id=message_id,
            rating=data.rating,
            comment=data.comment,
        )
        if saved is None:
            raise not_found("message")
        # Listed messages carry their feedback.
        await cache.invalidate(
            threads.messages_cache_key(org_id=org.org_id, user_id=org.user.id, thread_id=saved.thread_id)
        )
        return saved

    @delete(FEEDBACK_PATH, operation_id="delete_message_feedback", summary="Withdraw my feedback on a message")
    async def delete_feedback(self, conn: Conn, cache: CacheDep, org: Org, message_id: FromPath[UUID]) -> None:
        org.require_writer()
        thread_id = await feedback.delete_feedback(conn, org_id=org.org_id, user_id=org.user.id, message_id=message_id)
        if thread_id is None:
            raise not_found("feedback")
        await cache.invalidate(threads.messages_cache_key(org_id=org.org_id, user_id=org.user.id, thread_id=thread_id))
