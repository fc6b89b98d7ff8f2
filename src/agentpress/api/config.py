"""The org's configuration in the desktop layout, as an archive: export it, import one (owners and admins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import QueryParameter, RawBody

from agentpress.repositories import orgs
from agentpress.services.config_import import read_uploaded_tree
from agentpress.services.crypto import encryptor
from agentpress.services.desktop.layout import ArchiveFormat, LayoutError, LimitError, build_archive
from agentpress.services.desktop.sync import ImportSummary, export_org, import_tree
from agentpress.web.access import Org
from agentpress.web.dependencies import AppSettings, Conn, Db
from agentpress.web.errors import ApiError, FieldError, not_found

Format = Annotated[
    ArchiveFormat, QueryParameter(name="format", description="zip (default), or tar: a gzip-compressed tar")
]
DryRun = Annotated[bool, QueryParameter(description="check and plan only: the summary says what would change")]
_MEDIA_TYPES: dict[ArchiveFormat, tuple[str, str]] = {
    "zip": ("application/zip", "zip"),
    "tar": ("application/gzip", "tar.gz"),
}


@dataclass
class ArchiveOperation(Operation):
    """The export's answer is an archive, of the media type its format names: the document says so for each."""

    def __post_init__(self) -> None:
        archive = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {media_type: archive for media_type, _ in _MEDIA_TYPES.values()}


# How many problems the detail line spells out; `errors` has them all.
_DETAIL_PROBLEMS = 5
# The largest archive (compressed) an import takes: an exported layout is a few KiB, a desktop folder with
# its session history a few MiB. What it expands to is limited apart (desktop.layout.MAX_ARCHIVE_BYTES).
MAX_ARCHIVE_UPLOAD_BYTES = 16 << 20


def layout_error(exc: LayoutError) -> ApiError:
    """400 for files that are not the layout, 422 for files that name what does not exist, 413 for an archive over
    a limit; each error names its file."""
    problems = exc.problems
    detail = "; ".join(map(str, problems[:_DETAIL_PROBLEMS]))
    if len(problems) > _DETAIL_PROBLEMS:
        detail += f"; and {len(problems) - _DETAIL_PROBLEMS} more"
    status, code = (422, "invalid_reference") if exc.references else (400, "invalid_request")
    if isinstance(exc, LimitError):
        status, code = 413, "too_large"
    errors = [FieldError(field=problem.where, message=problem.message) for problem in problems]
    return ApiError(status, code, detail, errors)


class ConfigController(Controller):
    path = "/config"
    tags = ["config"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get(
        "/export",
        operation_id="export_config",
        summary="The org's agents, providers, models and channels in the desktop layout, as an archive; no secrets",
        operation_class=ArchiveOperation,
    )
    async def export_config(self, conn: Conn, org: Org, archive_format: Format = "zip") -> Response[bytes]:
        org.require_manager()
        found = await orgs.get_org(conn, org_id=org.org_id)
        if found is None:
            raise not_found("org")
        files = await export_org(conn, org_id=org.org_id)
        media_type, extension = _MEDIA_TYPES[archive_format]
        return Response(
            content=build_archive(files, archive_format),
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="agentpress-config-{found.slug}.{extension}"'},
        )

    @post(
        "/import",
        operation_id="import_config",
        summary="Import an archive of the desktop layout: create what is new, update what changed, all or nothing",
        description="The body is the archive itself (zip, or tar optionally gzip-compressed), with the tree at its "
        "root or in its only folder. Answers the summary: what was (or, with dry_run, would be) created, updated "
        "or left unchanged. A tree that is not the layout is 400, one naming what does not exist 422; each error "
        "names its file, line and field, and nothing is written. An archive over 16 MiB, one expanding past 32 MiB "
        "or holding more than 1000 files of the layout, a file of it over 1 MiB, or one too slow to read is 413; "
        "503 with Retry-After when too many imports are being read at once.",
        status_code=200,
        request_max_body_size=MAX_ARCHIVE_UPLOAD_BYTES,
    )
    async def import_config(
        self, db: Db, settings: AppSettings, org: Org, body: RawBody, dry_run: DryRun = False
    ) -> ImportSummary:
        org.require_manager()
        try:
            # Read and parsed in a child process, without a connection: only the SQL below takes one.
            tree = await read_uploaded_tree(body, time_limit=settings.config_import_timeout_seconds)
            async with db.connection() as conn:
                return await import_tree(
                    conn,
                    org_id=org.org_id,
                    tree=tree,
                    encryptor=encryptor(settings),
                    # Never the server's environment: it is the operator's, not the org's (see desktop.sync).
                    environ=None,
                    actor=org.user.id,
                    dry_run=dry_run,
                )
        except LayoutError as exc:
            raise layout_error(exc) from None
