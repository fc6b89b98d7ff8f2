"""Analytics reports of the org for its owners and admins: usage, agents and tools, on the analytics pool."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, date, datetime
from typing import Annotated, TypeVar
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter
from psycopg import errors as pg

from agentpress.models.analytics import GRANULARITIES, AgentsReport, ToolsReport, UsageReport
from agentpress.services import reporting
from agentpress.web.access import Org
from agentpress.web.dependencies import AnalyticsConn, AppSettings
from agentpress.web.errors import ApiError, field_error

T = TypeVar("T")
DEFAULT_DAYS = 30
# The last day a report may name: a report steps a day, a week or a month past its `to`, and Python's dates end
# at 9999-12-31 (an OverflowError, which was a 500 for `to=9999-12-31`).
LAST_DAY = date(9998, 12, 31)
# The document's way of saying "on or before LAST_DAY": a year up to 9998.
BEFORE_LAST_YEAR = r"^([0-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
From = Annotated[date | None, QueryParameter(name="from", description="first day (UTC), default 29 days before `to`")]
To = Annotated[
    date | None,
    QueryParameter(description="last day (UTC), included; default today", schema_extra={"pattern": BEFORE_LAST_YEAR}),
]


def report_range(from_day: date | None, to_day: date | None, max_days: int) -> tuple[date, date]:
    """The days [from, to] of a report, both included; 422 naming the parameter when they do not make a range."""
    to_day = to_day or datetime.now(UTC).date()
    if to_day > LAST_DAY:
        raise field_error(422, "invalid_value", "to", f"must be on or before {LAST_DAY}")
    if from_day is None:
        # No earlier than the first of Python's dates (0001-01-01) for a `to` in its first 30 days.
        from_day = date.fromordinal(max(1, to_day.toordinal() - (DEFAULT_DAYS - 1)))
    if from_day > to_day:
        raise field_error(422, "invalid_value", "from", f"must be on or before to ({to_day})")
    if (to_day - from_day).days + 1 > max_days:
        raise field_error(
            422, "invalid_value", "to", f"makes a range of {(to_day - from_day).days + 1} days; the most is {max_days}"
        )
    return from_day, to_day


async def within_timeout(report: Awaitable[T], timeout_ms: int) -> T:
    """The report, or 503 with Retry-After when it was cancelled: by the analytics pool's statement timeout, or by a
    hot standby (ANALYTICS_DATABASE_URL) to replay a change from the primary that conflicts with the report."""
    try:
        return await report
    except pg.QueryCanceled as exc:
        raise ApiError(
            503,
            "report_timeout",
            f"the report took longer than {timeout_ms / 1000:g} s and was cancelled; try a shorter range",
            headers={"Retry-After": "60"},
        ) from exc
    except (pg.SerializationFailure, pg.DeadlockDetected) as exc:
        # "canceling statement due to conflict with recovery" is 40001 (40P01 when the standby found its replay
        # and the report waiting on each other). A report is read-only and runs in autocommit,
        # so on the primary it never meets either. The same answer as a timeout, since a client handles both
        # alike (try again later), but sooner: the conflict lasts as long as one change takes to replay.
        raise ApiError(
            503,
            "report_timeout",
            "the replica serving reports cancelled the report to apply changes from the primary; try again",
            headers={"Retry-After": "5"},
        ) from exc


class AnalyticsController(Controller):
    path = "/analytics"
    tags = ["analytics"]  # noqa: RUF012 (Litestar declares it as a plain attribute)

    @get(
        "/usage",
        operation_id="usage_report",
        summary="Owners and admins: per day, week or month, threads created, messages by role, active users, tokens",
    )
    async def usage(
        self,
        analytics_conn: AnalyticsConn,
        org: Org,
        settings: AppSettings,
        from_: From = None,
        to: To = None,
        # The document lists the three; the handler refuses another with a 422 naming it.
        granularity: Annotated[str, QueryParameter(schema_extra={"enum": list(GRANULARITIES)})] = "day",
        agent_id: FromQuery[UUID | None] = None,
    ) -> UsageReport:
        org.require_manager()
        from_day, to_day = report_range(from_, to, settings.analytics_max_range_days)
        if granularity not in GRANULARITIES:
            raise field_error(422, "invalid_value", "granularity", f"must be one of {', '.join(GRANULARITIES)}")
        report = reporting.usage_report(
            analytics_conn,
            org_id=org.org_id,
            from_day=from_day,
            to_day=to_day,
            granularity=granularity,
            agent_id=agent_id,
        )
        return await within_timeout(report, settings.analytics_statement_timeout_ms)

    @get(
        "/agents",
        operation_id="agents_report",
        summary="Owners and admins: per agent, threads, messages, feedback, task outcomes and tokens",
    )
    async def agents(
        self, analytics_conn: AnalyticsConn, org: Org, settings: AppSettings, from_: From = None, to: To = None
    ) -> AgentsReport:
        org.require_manager()
        from_day, to_day = report_range(from_, to, settings.analytics_max_range_days)
        report = reporting.agents_report(analytics_conn, org_id=org.org_id, from_day=from_day, to_day=to_day)
        return await within_timeout(report, settings.analytics_statement_timeout_ms)

    @get("/tools", operation_id="tools_report", summary="Owners and admins: per tool, calls and failed results")
    async def tools(
        self, analytics_conn: AnalyticsConn, org: Org, settings: AppSettings, from_: From = None, to: To = None
    ) -> ToolsReport:
        org.require_manager()
        from_day, to_day = report_range(from_, to, settings.analytics_max_range_days)
        report = reporting.tools_report(analytics_conn, org_id=org.org_id, from_day=from_day, to_day=to_day)
        return await within_timeout(report, settings.analytics_statement_timeout_ms)
