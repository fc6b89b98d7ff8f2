"""Knowledge bases and their sources of four kinds (files, freeform texts, tables, web URLs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

SourceStatus = Literal["pending", "processing", "ready", "failed"]
# The tables' checks knowledge_base_files_checksum_sha256_check and knowledge_base_web_urls_url_check.
SHA256_PATTERN = r"^[0-9a-f]{64}$"
# size_bytes is a bigint; 2**53 bytes (8 PiB) is past any file and exact as the document's float bound.
MAX_SIZE_BYTES = 2**53
URL_PATTERN = r"^https?://"


# The years a crawl time may be written in: PostgreSQL stores times Python cannot read back (0001-01-01T00:00:00+05:00
# is in year 0 in UTC), and such a row made every later read of its list fail. A year from 0002 to 9998, in any
# offset Python takes (under a day), stays inside Python's years 1-9999 in UTC, and so does a naive time, which
# PostgreSQL reads in its session's time zone. The rule is on the year as written, so the document can carry it.
FIRST_YEAR, LAST_YEAR = 2, 9998
YEAR_PATTERN = r"^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"


def _in_range(value: datetime | None) -> datetime | None:
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError("out_of_range", "must be in the years 0002 to 9998")
    return value


CrawlTime = Annotated[datetime | None, AfterValidator(_in_range), Field(json_schema_extra={"pattern": YEAR_PATTERN})]


def _not_null(value: Any) -> Any:
    # Runs only for fields the client sent: these columns are NOT NULL, so null cannot clear them.
    if value is None:
        raise PydanticCustomError("not_null", "may be left out but not null")
    return value


class KnowledgeBase(BaseModel):
    id: UUID
    org_id: UUID
    name: str
    description: str | None
    embedding_model: str | None
    is_enabled: bool
    created_at: datetime
    updated_at: datetime


class KnowledgeBaseCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    embedding_model: str | None = Field(default=None, max_length=200)
    is_enabled: bool = True


class KnowledgeBaseUpdate(BaseModel):
    """A partial change: fields left out keep their value; description or embedding_model sent as null is cleared."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    embedding_model: str | None = Field(default=None, max_length=200)
    is_enabled: bool | None = None

    check_not_null = field_validator("name", "is_enabled")(_not_null)


class Source(BaseModel):
    """What every source answers with, whatever its kind: status is set by ingest, not by clients."""

    id: UUID
    knowledge_base_id: UUID
    status: SourceStatus
    error: str | None
    created_at: datetime
    updated_at: datetime


# Files: the document itself lives in object storage at storage_uri.
class KnowledgeBaseFile(Source):
    name: str
    mime_type: str | None
    size_bytes: int | None
    storage_uri: str
    checksum_sha256: str | None


class KnowledgeBaseFileCreate(BaseModel):
    name: str = Field(min_length=1, max_length=1000)
    mime_type: str | None = Field(default=None, max_length=255)
    size_bytes: int | None = Field(default=None, ge=0, le=MAX_SIZE_BYTES)
    storage_uri: str = Field(min_length=1, max_length=4096)
    checksum_sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)


class KnowledgeBaseFileUpdate(BaseModel):
    """A partial change: fields left out keep their value; the optional ones sent as null are cleared."""

    name: str | None = Field(default=None, min_length=1, max_length=1000)
    mime_type: str | None = Field(default=None, max_length=255)
    size_bytes: int | None = Field(default=None, ge=0, le=MAX_SIZE_BYTES)
    storage_uri: str | None = Field(default=None, min_length=1, max_length=4096)
    checksum_sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)

    check_not_null = field_validator("name", "storage_uri")(_not_null)


class KnowledgeBaseFreeformText(Source):
    title: str
    content: str


class KnowledgeBaseFreeformTextCreate(BaseModel):
    title: str = Field(min_length=1, max_length=1000)
    content: str = Field(max_length=10_000_000)


class KnowledgeBaseFreeformTextUpdate(BaseModel):
    """A partial change: fields left out keep their value. New content puts the text back to pending."""

    title: str | None = Field(default=None, min_length=1, max_length=1000)
    content: str | None = Field(default=None, max_length=10_000_000)

    check_not_null = field_validator("title", "content")(_not_null)


class TableColumn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)


class KnowledgeBaseTable(Source):
    name: str
    columns: list[TableColumn]
    rows: list[list[Any]]


class KnowledgeBaseTableCreate(BaseModel):
    # That each row has a value per column is checked by the API (422 naming the row).
    name: str = Field(min_length=1, max_length=1000)
    columns: list[TableColumn] = Field(min_length=1, max_length=1000)
    rows: list[list[Any]] = Field(default=[], max_length=1_000_000)


class KnowledgeBaseTableUpdate(BaseModel):
    """A partial change: fields left out keep their value. New columns or rows put the table back to pending."""

    name: str | None = Field(default=None, min_length=1, max_length=1000)
    columns: list[TableColumn] | None = Field(default=None, min_length=1, max_length=1000)
    rows: list[list[Any]] | None = Field(default=None, max_length=1_000_000)

    check_not_null = field_validator("name", "columns", "rows")(_not_null)


class KnowledgeBaseWebUrl(Source):
    url: str
    crawl_depth: int
    crawl_interval: int | None = Field(description="seconds between crawls")
    last_crawled_at: datetime | None
    next_crawl_at: datetime | None


class KnowledgeBaseWebUrlCreate(BaseModel):
    url: str = Field(max_length=4096, pattern=URL_PATTERN)
    crawl_depth: int = Field(default=0, ge=0, le=10)
    crawl_interval: int | None = Field(default=None, gt=0, le=10 * 365 * 86_400, description="seconds between crawls")
    last_crawled_at: CrawlTime = None
    next_crawl_at: CrawlTime = None


class KnowledgeBaseWebUrlUpdate(BaseModel):
    """A partial change: fields left out keep their value; the optional ones sent as null are cleared."""

    url: str | None = Field(default=None, max_length=4096, pattern=URL_PATTERN)
    crawl_depth: int | None = Field(default=None, ge=0, le=10)
    crawl_interval: int | None = Field(default=None, gt=0, le=10 * 365 * 86_400, description="seconds between crawls")
    last_crawled_at: CrawlTime = None
    next_crawl_at: CrawlTime = None

    check_not_null = field_validator("url", "crawl_depth")(_not_null)
