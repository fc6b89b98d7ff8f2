"""Knowledge bases and their sources (files, freeform texts, tables, web URLs): create, read, change, delete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, NamedTuple, TypeVar
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter
from psycopg import AsyncConnection
from pydantic import BaseModel

from agentpress.models.knowledge_bases import (
    KnowledgeBase,
    KnowledgeBaseCreate,
    KnowledgeBaseFileUpdate,
    KnowledgeBaseFreeformTextUpdate,
    KnowledgeBaseTable,
    KnowledgeBaseTableCreate,
    KnowledgeBaseTableUpdate,
    KnowledgeBaseUpdate,
    KnowledgeBaseWebUrlUpdate,
    Source,
    TableColumn,
)
from agentpress.repositories import knowledge_base_sources as sources
from agentpress.repositories import knowledge_bases
from agentpress.repositories.knowledge_base_sources import SourceTable
from agentpress.services import agent_configs
from agentpress.services.patching import lock_merge_write, sent
from agentpress.web.access import Org, OrgContext
from agentpress.web.dependencies import Conn
from agentpress.web.errors import ApiError, field_error, not_found
from agentpress.web.idempotent import idempotent
from agentpress.web.pagination import DEFAULT_PAGE_SIZE, Page, PageNumber, PageSize, offset

# A kind's read, create and update models. In the handlers that source_routes builds they are names that
# Litestar resolves per kind through the handlers' signature_namespace (this module's annotations are strings).
Read = TypeVar("Read", bound=Source)
Create = TypeVar("Create", bound=BaseModel)
Update = TypeVar("Update", bound=BaseModel)
# A source's id in the path, named per kind (file_id, ...) in the same way.
SourceId = FromPath[UUID]

KB_PATH = "/{kb_id:uuid}"


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


class Summaries(NamedTuple):
    """What the OpenAPI document says of each of a kind's five routes."""

    list: str
    create: str
    get: str
    update: str
    delete: str


@dataclass(frozen=True)
class SourceKind(Generic[Read, Create, Update]):
    """One kind of source as the API serves it. Its routes are `/{kb_id}/<segment>` and
    `/{kb_id}/<segment>/{<id_param>}`, their operation ids `list_knowledge_base_<plural>`,
    `create_knowledge_base_<singular>` and so on (plural: the segment with `_`; singular: the id without `_id`)."""

    table: SourceTable[Read, Create]
    update_model: type[Update]
    segment: str
    # What a 404 calls it.
    noun: str
    summaries: Summaries
    # Checks of the whole source that one field's validation cannot make (run on create and on the merged change).
    check: Callable[[Any], None] | None = None

    @property
    def id_param(self) -> str:
        return self.table.id_param


FILES = SourceKind(
    sources.FILES,
    KnowledgeBaseFileUpdate,
    segment="files",
    noun="file",
    summaries=Summaries(
        list="A knowledge base's files, newest first",
        create="Add a file (pending) to a knowledge base",
        get="A file of a knowledge base",
        update="Change some of a file's fields",
        delete="Delete a file with its chunks",
    ),
)
FREEFORM_TEXTS = SourceKind(
    sources.FREEFORM_TEXTS,
    KnowledgeBaseFreeformTextUpdate,
    segment="freeform-texts",
    noun="freeform text",
    summaries=Summaries(
        list="A knowledge base's freeform texts, newest first",
        create="Add a freeform text (pending) to a knowledge base",
        get="A freeform text",
        update="Change a freeform text; new content puts it back to pending",
        delete="Delete a freeform text with its chunks",
    ),
)
TABLES = SourceKind(
    sources.TABLES,
    KnowledgeBaseTableUpdate,
    segment="tables",
    noun="table",
    summaries=Summaries(
        list="A knowledge base's tables, newest first",
        create="Add a table (pending) to a knowledge base; every row has one value per column",
        get="A table of a knowledge base",
        update="Change a table; new columns or rows put it back to pending",
        delete="Delete a table with its chunks",
    ),
    check=_check_rows,
)
WEB_URLS = SourceKind(
    sources.WEB_URLS,
    KnowledgeBaseWebUrlUpdate,
    segment="web-urls",
    noun="web url",
    summaries=Summaries(
        list="A knowledge base's web URLs, newest first",
        create="Add a web URL (pending) to a knowledge base; crawl_interval in seconds",
        get="A web URL of a knowledge base",
        update="Change some of a web URL's fields",
        delete="Delete a web URL with its chunks",
    ),
)


async def _not_found(
    conn: AsyncConnection[Any], org: OrgContext, kb_id: UUID, kind: SourceKind[Any, Any, Any]
) -> ApiError:
    """A 404 that says what is missing: the knowledge base (or it is another org's), or the source in it."""
    if await knowledge_bases.get_knowledge_base(conn, org_id=org.org_id, knowledge_base_id=kb_id) is None:
        return not_found("knowledge base")
    return not_found(kind.noun)


def source_routes(kind: SourceKind[Read, Create, Update]) -> tuple[HTTPRouteHandler, ...]:
    """A kind's five routes (list, create, get, update, delete), for KnowledgeBasesController."""
    collection = f"{KB_PATH}/{kind.segment}"
    item = f"{collection}/{{{kind.id_param}:uuid}}"
    plural, singular = kind.segment.replace("-", "_"), kind.id_param.removesuffix("_id")
    table, summaries = kind.table, kind.summaries
    names = {
        "Read": table.model,
        "Create": table.fields,
        "Update": kind.update_model,
        "SourceId": Annotated[UUID, PathParameter(name=kind.id_param)],
    }

    @get(collection, operation_id=f"list_knowledge_base_{plural}", summary=summaries.list, signature_namespace=names)
    async def list_sources(
        self: Controller,
        conn: Conn,
        org: Org,
        kb_id: FromPath[UUID],
        page: FromQuery[PageNumber] = 1,
        page_size: FromQuery[PageSize] = DEFAULT_PAGE_SIZE,
    ) -> Page[Read]:
        # An empty page of another org's knowledge base would say it exists.
        if await knowledge_bases.get_knowledge_base(conn, org_id=org.org_id, knowledge_base_id=kb_id) is None:
            raise not_found("knowledge base")
        items, total = await table.list_page(
            conn, org_id=org.org_id, knowledge_base_id=kb_id, limit=page_size, offset=offset(page, page_size)
        )
        return Page(items=items, total=total, page=page, page_size=page_size)

    @post(
        collection,
        operation_id=f"create_knowledge_base_{singular}",
        summary=summaries.create,
        signature_namespace=names,
        **idempotent(),
    )
    async def create_source(
        self: Controller, conn: Conn, org: Org, kb_id: FromPath[UUID], data: JSONBody[Create]
    ) -> Read:
        org.require_manager()
        if kind.check is not None:
            kind.check(data)
        created = await table.create(conn, org_id=org.org_id, knowledge_base_id=kb_id, fields=data)
        if created is None:
            raise not_found("knowledge base")
        return created

    @get(item, operation_id=f"get_knowledge_base_{singular}", summary=summaries.get, signature_namespace=names)
    async def get_source(self: Controller, conn: Conn, org: Org, kb_id: FromPath[UUID], source_id: SourceId) -> Read:
        source = await table.get(conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=source_id)
        if source is None:
            raise await _not_found(conn, org, kb_id, kind)
        return source

    @patch(item, operation_id=f"update_knowledge_base_{singular}", summary=summaries.update, signature_namespace=names)
    async def update_source(
        self: Controller, conn: Conn, org: Org, kb_id: FromPath[UUID], source_id: SourceId, data: JSONBody[Update]
    ) -> Read:
        org.require_manager()

        def merge(current: Read) -> Read:
            # Only the fields the client sent: a field left out keeps its value. Validated again, so that the
            # checks of the whole source see the result (a table's new columns against its old rows).
            merged = type(current).model_validate({**current.model_dump(), **data.model_dump(exclude_unset=True)})
            if kind.check is not None:
                kind.check(merged)
            return merged

        return await lock_merge_write(
            conn,
            lock=lambda: table.get_for_update(conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=source_id),
            merge=merge,
            write=lambda _, merged: table.update(conn, org_id=org.org_id, knowledge_base_id=kb_id, source=merged),
            missing=lambda: _not_found(conn, org, kb_id, kind),
        )

    @delete(item, operation_id=f"delete_knowledge_base_{singular}", summary=summaries.delete, signature_namespace=names)
    async def delete_source(self: Controller, conn: Conn, org: Org, kb_id: FromPath[UUID], source_id: SourceId) -> None:
        org.require_manager()
        if not await table.delete(conn, org_id=org.org_id, knowledge_base_id=kb_id, source_id=source_id):
            raise await _not_found(conn, org, kb_id, kind)

    routes = {
        f"list_{plural}": list_sources,
        f"create_{singular}": create_source,
        f"get_{singular}": get_source,
        f"update_{singular}": update_source,
        f"delete_{singular}": delete_source,
    }
    for name, route in routes.items():
        # Named as the attributes of KnowledgeBasesController they become: Litestar orders a controller's
        # routes by that name, so the OpenAPI document keeps its order, and a traceback names the kind.
        route.fn.__name__, route.fn.__qualname__ = name, f"KnowledgeBasesController.{name}"
    return tuple(routes.values())


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

    # Sources: five routes per kind.

    list_files, create_file, get_file, update_file, delete_file = source_routes(FILES)
    (
        list_freeform_texts,
        create_freeform_text,
        get_freeform_text,
        update_freeform_text,
        delete_freeform_text,
    ) = source_routes(FREEFORM_TEXTS)
    list_tables, create_table, get_table, update_table, delete_table = source_routes(TABLES)
    list_web_urls, create_web_url, get_web_url, update_web_url, delete_web_url = source_routes(WEB_URLS)
