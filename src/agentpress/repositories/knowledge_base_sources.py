"""Sources of knowledge bases: a table per kind, its statements run alike by a SourceTable (list, get, create...)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from agentpress.db.queries import Query, queries
from agentpress.db.sqlcheck import Passed, QueryUse
from agentpress.models.knowledge_bases import (
    KnowledgeBaseFile,
    KnowledgeBaseFileCreate,
    KnowledgeBaseFreeformText,
    KnowledgeBaseFreeformTextCreate,
    KnowledgeBaseTable,
    KnowledgeBaseTableCreate,
    KnowledgeBaseWebUrl,
    KnowledgeBaseWebUrlCreate,
    Source,
)

S = TypeVar("S", bound=Source)
W = TypeVar("W", bound=BaseModel)


@dataclass(frozen=True)
class SourceTable(Generic[S, W]):
    """One kind's table: its read model, the model of the fields a client writes, and its statements in
    sql/queries/knowledge_base_sources.sql. Every statement names the org and the knowledge base."""

    model: type[S]
    fields: type[W]
    # The source's id as the statements name it: `id = %(file_id)s`.
    id_param: str
    list_query: Query
    count_query: Query
    get_query: Query
    get_for_update_query: Query
    # Pending; no row when the org has no such knowledge base.
    create_query: Query
    # Every field, merged by the caller into the locked row; no row when there is no such source.
    update_query: Query
    # With the source's embeddings (cascade).
    delete_query: Query
    # The fields sent as jsonb rather than as the values psycopg adapts by their type.
    jsonb: frozenset[str] = frozenset()

    async def list_page(
        self, conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, limit: int, offset: int
    ) -> tuple[list[S], int]:
        """One page of a knowledge base's sources of this kind and the total, newest first."""
        items = await self.list_query.many(
            conn, self.model, org_id=org_id, knowledge_base_id=knowledge_base_id, limit=limit, offset=offset
        )
        total = await self.count_query.scalar_required(conn, int, org_id=org_id, knowledge_base_id=knowledge_base_id)
        return items, total

    async def get(
        self, conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
    ) -> S | None:
        return await self.get_query.one(conn, self.model, **self._key(org_id, knowledge_base_id, source_id))

    async def get_for_update(
        self, conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
    ) -> S | None:
        """The source, locked until the caller's transaction ends."""
        return await self.get_for_update_query.one(conn, self.model, **self._key(org_id, knowledge_base_id, source_id))

    async def create(self, conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, fields: W) -> S | None:
        return await self.create_query.one(
            conn, self.model, org_id=org_id, knowledge_base_id=knowledge_base_id, **self._values(fields)
        )

    async def update(self, conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source: S) -> S | None:
        """Write the fields a client writes of `source`: the locked row with a change merged in."""
        return await self.update_query.one(
            conn, self.model, **self._key(org_id, knowledge_base_id, source.id), **self._values(source)
        )

    async def delete(
        self, conn: AsyncConnection[Any], *, org_id: UUID, knowledge_base_id: UUID, source_id: UUID
    ) -> bool:
        deleted = await self.delete_query.execrows(conn, **self._key(org_id, knowledge_base_id, source_id))
        return deleted == 1

    def _key(self, org_id: UUID, knowledge_base_id: UUID, source_id: UUID) -> dict[str, UUID]:
        return {"org_id": org_id, "knowledge_base_id": knowledge_base_id, self.id_param: source_id}

    def _values(self, source: BaseModel) -> dict[str, Any]:
        values = source.model_dump(include=set(self.fields.model_fields))
        return {name: Jsonb(value) if name in self.jsonb else value for name, value in values.items()}

    def query_uses(self) -> list[QueryUse]:
        """What each method above passes to its statement, for the verified-SQL check (db/sqlcheck.py), which
        reads the calls in the other repository modules' source but cannot tell there which table's statement
        `self.get_query` is. Query.one and the rest check the names again on every call."""
        kb = {"org_id": Passed(UUID, "org_id: UUID"), "knowledge_base_id": Passed(UUID, "knowledge_base_id: UUID")}
        key = {**kb, self.id_param: Passed(UUID, "source_id: UUID")}
        page = {**kb, "limit": Passed(int, "limit: int"), "offset": Passed(int, "offset: int")}

        def values(model: type[BaseModel]) -> dict[str, Passed]:
            # What _values dumps of a `model`: the fields a client writes.
            fields = model.model_fields
            annotations = {name: fields[name].annotation for name in self.fields.model_fields if name in fields}
            return {
                name: Passed(Jsonb, "Jsonb(...)") if name in self.jsonb else Passed(hint, f"{model.__name__}.{name}")
                for name, hint in annotations.items()
            }

        calls: list[tuple[Any, Query, str, type[BaseModel] | None, dict[str, Passed]]] = [
            (SourceTable.list_page, self.list_query, "many", self.model, page),
            (SourceTable.list_page, self.count_query, "scalar_required", None, kb),
            (SourceTable.get, self.get_query, "one", self.model, key),
            (SourceTable.get_for_update, self.get_for_update_query, "one", self.model, key),
            (SourceTable.create, self.create_query, "one", self.model, {**kb, **values(self.fields)}),
            (SourceTable.update, self.update_query, "one", self.model, {**key, **values(self.model)}),
            (SourceTable.delete, self.delete_query, "execrows", None, key),
        ]
        return [
            QueryUse(
                domain=query.domain,
                name=query.name,
                method=method,
                model=model,
                params=frozenset(passed),
                passes_unknown_params=False,
                where=f"{_location(function)} ({self.model.__name__})",
                passed=passed,
            )
            for function, query, method, model, passed in calls
        ]


def _location(function: Any) -> str:
    return f"{inspect.getsourcefile(function)}:{inspect.getsourcelines(function)[1]}"


_q = queries.knowledge_base_sources

FILES = SourceTable(
    KnowledgeBaseFile,
    KnowledgeBaseFileCreate,
    id_param="file_id",
    list_query=_q.list_kb_files,
    count_query=_q.count_kb_files,
    get_query=_q.get_kb_file,
    get_for_update_query=_q.get_kb_file_for_update,
    create_query=_q.create_kb_file,
    update_query=_q.update_kb_file,
    delete_query=_q.delete_kb_file,
)
# New content puts a freeform text back to pending (update_kb_freeform_text).
FREEFORM_TEXTS = SourceTable(
    KnowledgeBaseFreeformText,
    KnowledgeBaseFreeformTextCreate,
    id_param="freeform_text_id",
    list_query=_q.list_kb_freeform_texts,
    count_query=_q.count_kb_freeform_texts,
    get_query=_q.get_kb_freeform_text,
    get_for_update_query=_q.get_kb_freeform_text_for_update,
    create_query=_q.create_kb_freeform_text,
    update_query=_q.update_kb_freeform_text,
    delete_query=_q.delete_kb_freeform_text,
)
# New columns or rows put a table back to pending (update_kb_table).
TABLES = SourceTable(
    KnowledgeBaseTable,
    KnowledgeBaseTableCreate,
    id_param="table_id",
    list_query=_q.list_kb_tables,
    count_query=_q.count_kb_tables,
    get_query=_q.get_kb_table,
    get_for_update_query=_q.get_kb_table_for_update,
    create_query=_q.create_kb_table,
    update_query=_q.update_kb_table,
    delete_query=_q.delete_kb_table,
    jsonb=frozenset({"columns", "rows"}),
)
# crawl_interval in seconds, which the statements convert to and from an interval.
WEB_URLS = SourceTable(
    KnowledgeBaseWebUrl,
    KnowledgeBaseWebUrlCreate,
    id_param="web_url_id",
    list_query=_q.list_kb_web_urls,
    count_query=_q.count_kb_web_urls,
    get_query=_q.get_kb_web_url,
    get_for_update_query=_q.get_kb_web_url_for_update,
    create_query=_q.create_kb_web_url,
    update_query=_q.update_kb_web_url,
    delete_query=_q.delete_kb_web_url,
)
