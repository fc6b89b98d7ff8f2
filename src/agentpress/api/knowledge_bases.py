"""Knowledge bases and their sources (files, freeform texts, tables, web URLs): create, read, change, delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from psycopg import AsyncConnection
from pydantic import BaseModel

from agentpress.models.knowledge_bases import (
    KnowledgeBase,
    KnowledgeBaseCreate,
    KnowledgeBaseFile,
    KnowledgeBaseFileCreate,
    KnowledgeBaseFileUpdate,
    KnowledgeBaseFreeformText,
    KnowledgeBaseFreeformTextCreate,
    KnowledgeBaseFreeformTextUpdate,
    KnowledgeBaseTable,
    KnowledgeBaseTableCreate,
    KnowledgeBaseTableUpdate,
    KnowledgeBaseUpdate,
    KnowledgeBaseWebUrl,
    KnowledgeBaseWebUrlCreate,
    KnowledgeBaseWebUrlUpdate,
    Source,
    TableColumn,
)
from agentpress.repositories import knowledge_base_sources as sources
from agentpress.repositories import knowledge_bases
from agentpress.services import agent_configs
from agentpress.services.patching import lock_merge_write, sent
from agentpress.web.access import Org, OrgContext
from agentpress.web.dependencies import Conn
from agentpress.web.errors import ApiError, field_error, not_found
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset

S = TypeVar("S", bound=Source)

KB_PATH = "/{kb_id:uuid}"
FILES_PATH = f"{KB_PATH}/files"
FILE_PATH = f"{FILES_PATH}/{{file_id:uuid}}"
FREEFORM_TEXTS_PATH = f"{KB_PATH}/freeform-texts"
FREEFORM_TEXT_PATH = f"{FREEFORM_TEXTS_PATH}/{{freeform_text_id:uuid}}"
TABLES_PATH = f"{KB_PATH}/tables"
TABLE_PATH = f"{TABLES_PATH}/{{table_id:uuid}}"
WEB_URLS_PATH = f"{KB_PATH}/web-urls"
WEB_URL_PATH = f"{WEB_URLS_PATH}/{{web_url_id:uuid}}"


def _check_rows(table: KnowledgeBaseTableCreate | KnowledgeBaseTable) -> None:
    """Every row of a table has one value per column; 422 naming the first row that does not."""
    columns: list[TableColumn] = table.columns
    for index, row in enumerate(table.rows):
        if len(row) != len(columns):
            raise field_error(
                422,
                "invalid_value",
                f"rows[{index}]",
                f"has {len(row)} values, but the table has {len(columns)} columns",
            )


@dataclass(frozen=True)
class SourceKind(Generic[S]):
    """One kind of source: its repository functions (alike in shape), its writable fields and its own checks."""

    noun: str
    list: Callable[..., Awaitable[tuple[list[S], int]]]
    get: Callable[..., Awaitable[S | None]]
    get_for_update: Callable[..., Awaitable[S | None]]
    create: Callable[..., Awaitable[S | None]]
    update: Callable[..., Awaitable[S | None]]
    delete: Callable[..., Awaitable[bool]]
    # The fields a client writes: the create model's.
    fields: frozenset[str]
    # Checks of the whole source that one field's validation cannot make (run on create and on the merged change).
    check: Callable[[Any], None] | None = None


FILES = SourceKind[KnowledgeBaseFile](
    noun="file",
    list=sources.list_files,
    get=sources.get_file,
    get_for_update=sources.get_file_for_update,
    create=sources.create_file,
    update=sources.update_file,
    delete=sources.delete_file,
    fields=frozenset(KnowledgeBaseFileCreate.model_fields),
)
FREEFORM_TEXTS = SourceKind[KnowledgeBaseFreeformText](
    noun="freeform text",
    list=sources.list_freeform_texts,
    get=sources.get_freeform_text,
    get_for_update=sources.get_freeform_text_for_update,
    create=sources.create_freeform_text,
    update=sources.update_freeform_text,
    delete=sources.delete_freeform_text,
    fields=frozenset(KnowledgeBaseFreeformTextCreate.model_fields),
)
TABLES = SourceKind[KnowledgeBaseTable](
    noun="table",
    list=sources.list_tables,
    get=sources.get_table,
    get_for_update=sources.get_table_for_update,
    create=sources.create_table,
    update=sources.update_table,
    delete=sources.delete_table,
    fields=frozenset(KnowledgeBaseTableCreate.model_fields),
    check=_check_rows,
)
WEB_URLS = SourceKind[KnowledgeBaseWebUrl](
    noun="web url",
    list=sources.list_web_urls,
    get=sources.get_web_url,
    get_for_update=sources.get_web_url_for_update,
    create=sources.create_web_url,
    update=sources.update_web_url,
    delete=sources.delete_web_url,
    fields=frozenset(KnowledgeBaseWebUrlCreate.model_fields),
)


async def _not_found(conn: AsyncConnection[Any], org: OrgContext, kb_id: UUID, kind: SourceKind[S]) -> ApiError:
    """A 404 that says what is missing: the knowledge base (or it is another org's), or the source in it."""
    if await knowledge_bases.get_knowledge_base(conn, org_id=org.org_id, knowledge_base_id=kb_id) is None:
        return not_found("knowledge base")
    return not_found(kind.noun)


async def _list_sources(
    conn: AsyncConnection[Any], org: OrgContext, kb_id: UUID, kind: SourceKind[S], page: int, page_size: int
) -> Page[S]:
    # An empty page of another org's knowledge base would say it exists.
    if await knowledge_bases.get_knowledge_base(conn, org_id=org.org_id, knowledge_base_id=kb_id) is None:
        raise not_found("knowledge base")
    items, total = await kind.list(
        conn, org_id=org.org_id, knowledge_base_id=kb_id, limit=page_size, offset=offset(page, page_size)
    )
    return Page(items=items, total=total, page=page, page_size=page_size)


async def _create_source(
    conn: AsyncConnection[Any], org: OrgContext, kb_id: UUID, kind: SourceKind[S], data: BaseModel
) -> S:
    org.require_manager()
    if kind.check is not None:
        kind.check(data)
    created = await kind.create(conn, org_id=org.org_id, knowledge_base_id=kb_id, **data.model_dump())
    if created is None:
        raise not_found("knowledge base")
    return created


async def _get_source(
    conn: AsyncConnection[Any], org: OrgContext, kb_id: UUID, kind: SourceKind[S], source_id: UUID
) -> S:
    source = await kind.get(conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=source_id)
    if source is None:
        raise await _not_found(conn, org, kb_id, kind)
    return source


async def _update_source(
    conn: AsyncConnection[Any], org: OrgContext, kb_id: UUID, kind: SourceKind[S], source_id: UUID, data: BaseModel
) -> S:
    org.require_manager()

    def merge(current: S) -> S:
        # Only the fields the client sent: a field left out keeps its value. Validated again, so that the
        # checks of the whole source see the result (a table's new columns against its old rows).
        merged = type(current).model_validate({**current.model_dump(), **data.model_dump(exclude_unset=True)})
        if kind.check is not None:
            kind.check(merged)
        return merged

    return await lock_merge_write(
        conn,
        lock=lambda: kind.get_for_update(conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=source_id),
        merge=merge,
        write=lambda _, merged: kind.update(
            conn,
            org_id=org.org_id,
            knowledge_base_id=kb_id,
            source_id=source_id,
            **merged.model_dump(include=set(kind.fields)),
        ),
        missing=lambda: _not_found(conn, org, kb_id, kind),
    )


async def _delete_source(
    conn: AsyncConnection[Any], org: OrgContext, kb_id: UUID, kind: SourceKind[S], source_id: UUID
) -> None:
    org.require_manager()
    if not await kind.delete(conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=source_id):
        raise await _not_found(conn, org, kb_id, kind)


class KnowledgeBasesController(Controller):
    path = "/knowledge-bases"
    tags = ["knowledge bases"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    # Knowledge bases.

    @get("/", operation_id="list_knowledge_bases", summary="The org's knowledge bases, newest first")
    async def list_knowledge_bases(
        self,
        conn: Conn,
        org: Org,
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[KnowledgeBase]:
        items, total = await knowledge_bases.list_knowledge_bases(
            conn, org_id=org.org_id, limit=page_size, offset=offset(page, page_size)
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post("/", operation_id="create_knowledge_base", summary="Create a knowledge base (owners and admins)")
    async def create_knowledge_base(self, conn: Conn, org: Org, data: JSONBody[KnowledgeBaseCreate]) -> KnowledgeBase:
        org.require_manager()
        return await knowledge_bases.create_knowledge_base(
            conn,
            org_id=org.org_id,
            name=data.name,
            description=data.description,
            embedding_model=data.embedding_model,
            is_enabled=data.is_enabled,
        )

    @get(KB_PATH, operation_id="get_knowledge_base", summary="A knowledge base of the org")
    async def get_knowledge_base(self, conn: Conn, org: Org, kb_id: FromPath[UUID]) -> KnowledgeBase:
        found = await knowledge_bases.get_knowledge_base(conn, org_id=org.org_id, knowledge_base_id=kb_id)
        if found is None:
            raise not_found("knowledge base")
        return found

    @patch(
        KB_PATH,
        operation_id="update_knowledge_base",
        summary="Change some of a knowledge base's fields (owners and admins); null clears the optional ones",
    )
    async def update_knowledge_base(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], data: JSONBody[KnowledgeBaseUpdate]
    ) -> KnowledgeBase:
        org.require_manager()
        return await lock_merge_write(
            conn,
            lock=lambda: knowledge_bases.get_knowledge_base_for_update(
                conn, org_id=org.org_id, knowledge_base_id=kb_id
            ),
            merge=sent(data.model_dump(exclude_unset=True)),
            write=lambda _, merged: knowledge_bases.update_knowledge_base(
                conn,
                org_id=org.org_id,
                knowledge_base_id=kb_id,
                name=merged.name,
                description=merged.description,
                embedding_model=merged.embedding_model,
                is_enabled=merged.is_enabled,
            ),
            missing=not_found("knowledge base"),
        )

    @delete(
        KB_PATH,
        operation_id="delete_knowledge_base",
        summary="Delete a knowledge base with its sources and their chunks (owners and admins); "
        "every agent that may search it loses it and gets a new version",
    )
    async def delete_knowledge_base(self, conn: Conn, org: Org, kb_id: FromPath[UUID]) -> None:
        org.require_manager()
        deleted = await agent_configs.delete_knowledge_base(
            conn, org_id=org.org_id, knowledge_base_id=kb_id, deleted_by=org.user.id
        )
        if deleted is None:
            raise not_found("knowledge base")

    # Files.

    @get(FILES_PATH, operation_id="list_knowledge_base_files", summary="A knowledge base's files, newest first")
    async def list_files(
        self,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[KnowledgeBaseFile]:
        return await _list_sources(conn, org, kb_id, FILES, page, page_size)

    @post(FILES_PATH, operation_id="create_knowledge_base_file", summary="Add a file (pending) to a knowledge base")
    async def create_file(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], data: JSONBody[KnowledgeBaseFileCreate]
    ) -> KnowledgeBaseFile:
        return await _create_source(conn, org, kb_id, FILES, data)

    @get(FILE_PATH, operation_id="get_knowledge_base_file", summary="A file of a knowledge base")
    async def get_file(self, conn: Conn, org: Org, kb_id: FromPath[UUID], file_id: FromPath[UUID]) -> KnowledgeBaseFile:
        return await _get_source(conn, org, kb_id, FILES, file_id)

    @patch(FILE_PATH, operation_id="update_knowledge_base_file", summary="Change some of a file's fields")
    async def update_file(
        self,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        file_id: FromPath[UUID],
        data: JSONBody[KnowledgeBaseFileUpdate],
    ) -> KnowledgeBaseFile:
        return await _update_source(conn, org, kb_id, FILES, file_id, data)

    @delete(FILE_PATH, operation_id="delete_knowledge_base_file", summary="Delete a file with its chunks")
    async def delete_file(self, conn: Conn, org: Org, kb_id: FromPath[UUID], file_id: FromPath[UUID]) -> None:
        await _delete_source(conn, org, kb_id, FILES, file_id)

    # Freeform texts.

    @get(
        FREEFORM_TEXTS_PATH,
        operation_id="list_knowledge_base_freeform_texts",
        summary="A knowledge base's freeform texts, newest first",
    )
    async def list_freeform_texts(
        self,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[KnowledgeBaseFreeformText]:
        return await _list_sources(conn, org, kb_id, FREEFORM_TEXTS, page, page_size)

    @post(
        FREEFORM_TEXTS_PATH,
        operation_id="create_knowledge_base_freeform_text",
        summary="Add a freeform text (pending) to a knowledge base",
    )
    async def create_freeform_text(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], data: JSONBody[KnowledgeBaseFreeformTextCreate]
    ) -> KnowledgeBaseFreeformText:
        return await _create_source(conn, org, kb_id, FREEFORM_TEXTS, data)

    @get(FREEFORM_TEXT_PATH, operation_id="get_knowledge_base_freeform_text", summary="A freeform text")
    async def get_freeform_text(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], freeform_text_id: FromPath[UUID]
    ) -> KnowledgeBaseFreeformText:
        return await _get_source(conn, org, kb_id, FREEFORM_TEXTS, freeform_text_id)

    @patch(
        FREEFORM_TEXT_PATH,
        operation_id="update_knowledge_base_freeform_text",
        summary="Change a freeform text; new content puts it back to pending",
    )
    async def update_freeform_text(
        self,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        freeform_text_id: FromPath[UUID],
        data: JSONBody[KnowledgeBaseFreeformTextUpdate],
    ) -> KnowledgeBaseFreeformText:
        return await _update_source(conn, org, kb_id, FREEFORM_TEXTS, freeform_text_id, data)

    @delete(
        FREEFORM_TEXT_PATH,
        operation_id="delete_knowledge_base_freeform_text",
        summary="Delete a freeform text with its chunks",
    )
    async def delete_freeform_text(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], freeform_text_id: FromPath[UUID]
    ) -> None:
        await _delete_source(conn, org, kb_id, FREEFORM_TEXTS, freeform_text_id)

    # Tables.

    @get(TABLES_PATH, operation_id="list_knowledge_base_tables", summary="A knowledge base's tables, newest first")
    async def list_tables(
        self,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[KnowledgeBaseTable]:
        return await _list_sources(conn, org, kb_id, TABLES, page, page_size)

    @post(
        TABLES_PATH,
        operation_id="create_knowledge_base_table",
        summary="Add a table (pending) to a knowledge base; every row has one value per column",
    )
    async def create_table(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], data: JSONBody[KnowledgeBaseTableCreate]
    ) -> KnowledgeBaseTable:
        return await _create_source(conn, org, kb_id, TABLES, data)

    @get(TABLE_PATH, operation_id="get_knowledge_base_table", summary="A table of a knowledge base")
    async def get_table(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], table_id: FromPath[UUID]
    ) -> KnowledgeBaseTable:
        return await _get_source(conn, org, kb_id, TABLES, table_id)

    @patch(
        TABLE_PATH,
        operation_id="update_knowledge_base_table",
        summary="Change a table; new columns or rows put it back to pending",
    )
    async def update_table(
        self,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        table_id: FromPath[UUID],
        data: JSONBody[KnowledgeBaseTableUpdate],
    ) -> KnowledgeBaseTable:
        return await _update_source(conn, org, kb_id, TABLES, table_id, data)

    @delete(TABLE_PATH, operation_id="delete_knowledge_base_table", summary="Delete a table with its chunks")
    async def delete_table(self, conn: Conn, org: Org, kb_id: FromPath[UUID], table_id: FromPath[UUID]) -> None:
        await _delete_source(conn, org, kb_id, TABLES, table_id)

    # Web URLs.

    @get(
        WEB_URLS_PATH, operation_id="list_knowledge_base_web_urls", summary="A knowledge base's web URLs, newest first"
    )
    async def list_web_urls(
        self,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[KnowledgeBaseWebUrl]:
        return await _list_sources(conn, org, kb_id, WEB_URLS, page, page_size)

    @post(
        WEB_URLS_PATH,
        operation_id="create_knowledge_base_web_url",
        summary="Add a web URL (pending) to a knowledge base; crawl_interval in seconds",
    )
    async def create_web_url(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], data: JSONBody[KnowledgeBaseWebUrlCreate]
    ) -> KnowledgeBaseWebUrl:
        return await _create_source(conn, org, kb_id, WEB_URLS, data)

    @get(WEB_URL_PATH, operation_id="get_knowledge_base_web_url", summary="A web URL of a knowledge base")
    async def get_web_url(
        self, conn: Conn, org: Org, kb_id: FromPath[UUID], web_url_id: FromPath[UUID]
    ) -> KnowledgeBaseWebUrl:
        return await _get_source(conn, org, kb_id, WEB_URLS, web_url_id)

    @patch(WEB_URL_PATH, operation_id="update_knowledge_base_web_url", summary="Change some of a web URL's fields")
    async def update_web_url(
        self,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        web_url_id: FromPath[UUID],
        data: JSONBody[KnowledgeBaseWebUrlUpdate],
    ) -> KnowledgeBaseWebUrl:
        return await _update_source(conn, org, kb_id, WEB_URLS, web_url_id, data)

    @delete(WEB_URL_PATH, operation_id="delete_knowledge_base_web_url", summary="Delete a web URL with its chunks")
    async def delete_web_url(self, conn: Conn, org: Org, kb_id: FromPath[UUID], web_url_id: FromPath[UUID]) -> None:
        await _delete_source(conn, org, kb_id, WEB_URLS, web_url_id)
