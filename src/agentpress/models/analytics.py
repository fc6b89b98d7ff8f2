"""Analytics: rollup and live rows by UTC day, and the usage, agents and tools reports built from them."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Granularity = Literal["day", "week", "month"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")


class MessageCounts(BaseModel):
    """Messages by role and their tokens: the counters every usage row carries."""

    user_messages: int = 0
    assistant_messages: int = 0
    system_messages: int = 0
    tool_messages: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class Daily(MessageCounts):
    """One row of live_daily, and of the analytics_daily rollup: an org's day for one agent."""

    day: date
    agent_id: UUID | None
    threads_created: int
    feedback_up: int
    feedback_down: int
    tasks_succeeded: int
    tasks_failed: int


class DailyUser(BaseModel):
    """One row of live_users and of analytics_daily_users."""

    day: date
    agent_id: UUID | None
    user_id: UUID


class DailyTool(BaseModel):
    """One row of live_tools and of analytics_daily_tools."""

    day: date
    tool_name: str
    calls: int
    failures: int


class UsageRollup(MessageCounts):
    """A bucket of the rollup (rollup_usage)."""

    bucket: date
    threads_created: int


class BucketUsers(BaseModel):
    bucket: date
    active_users: int


class UserId(BaseModel):
    user_id: UUID


class AgentRollup(MessageCounts):
    """An agent's sums over the rollup's days (rollup_agents)."""

    agent_id: UUID | None
    threads_created: int
    feedback_up: int
    feedback_down: int
    tasks_succeeded: int
    tasks_failed: int


class ToolRollup(BaseModel):
    tool_name: str
    calls: int
    failures: int


class Named(BaseModel):
    """An id and its name (agent_names, tool_ids)."""

    id: UUID
    name: str


class ReportRange(BaseModel):
    """The days a report covers, both included (UTC)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date


class UsageBucket(MessageCounts):
    bucket: date = Field(description="the bucket's first day: the day, the Monday of the week, the 1st of the month")
    threads_created: int = 0
    messages: int = Field(default=0, description="all roles")
    active_users: int = Field(default=0, description="distinct users who wrote a message in one of their threads")


class UsageReport(ReportRange):
    granularity: Granularity
    agent_id: UUID | None
    buckets: list[UsageBucket]


class AgentUsage(MessageCounts):
    agent_id: UUID | None = Field(description="null: threads without an agent")
    agent_name: str | None = Field(description="null for threads without an agent and for deleted agents")
    threads_created: int = 0
    messages: int = Field(default=0, description="all roles")
    avg_messages_per_thread: float | None = Field(
        default=None, description="messages over threads created in the range; null without threads"
    )
    feedback_up: int = 0
    feedback_down: int = 0
    feedback_ratio: float | None = Field(default=None, description="up / (up + down); null without feedback")
    tasks_succeeded: int = 0
    tasks_failed: int = 0


class AgentsReport(ReportRange):
    agents: list[AgentUsage]


class ToolUsage(BaseModel):
    tool_name: str
    tool_id: UUID | None = Field(description="the org's tool of that name; null when it has none (any longer)")
    calls: int
    failures: int


class ToolsReport(ReportRange):
    tools: list[ToolUsage]
