"""Messages and their typed parts (a union discriminated by `type`), appends, and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Role = Literal["user", "assistant", "system", "tool"]
Rating = Literal[-1, 1]


class _Part(BaseModel):
    # A misspelt field is refused rather than stored and silently ignored by every reader.
    model_config = ConfigDict(extra="forbid")


# Bounded well below what PostgreSQL can index for search (a tsvector holds at most 1 MB).
MAX_TEXT_LENGTH = 200_000


class TextPart(_Part):
    type: Literal["text"]
    text: str = Field(max_length=MAX_TEXT_LENGTH)


class ReasoningPart(_Part):
    type: Literal["reasoning"]
    text: str = Field(max_length=MAX_TEXT_LENGTH)


class ToolCallPart(_Part):
    type: Literal["tool_call"]
    tool_call_id: str = Field(min_length=1, max_length=200)
    tool_name: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any]


class ToolResultPart(_Part):
    type: Literal["tool_result"]
    tool_call_id: str = Field(min_length=1, max_length=200)
    tool_name: str = Field(min_length=1, max_length=200)
    result: Any = Field(description="any JSON value; required, null included")
    is_error: bool = False


class FilePart(_Part):
    type: Literal["file"]
    name: str | None = Field(default=None, max_length=500)
    mime_type: str | None = Field(default=None, max_length=200)
    uri: str = Field(min_length=1, max_length=4000)


Part = Annotated[TextPart | ReasoningPart | ToolCallPart | ToolResultPart | FilePart, Field(discriminator="type")]
PART_ADAPTER: TypeAdapter[Part] = TypeAdapter(Part)
# How the OpenAPI document shows a part of MessageCreate (which takes objects, see there): as the union it is
# checked against, the same as Message's parts, so that a client generated from the document has typed parts.
PART_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"$ref": f"#/components/schemas/{part.__name__}"}
        for part in (TextPart, ReasoningPart, ToolCallPart, ToolResultPart, FilePart)
    ]
}


class MessageFeedback(BaseModel):
    """The signed-in user's own feedback on a listed message."""

    rating: Rating
    comment: str | None


class Message(BaseModel):
    id: UUID
    org_id: UUID
    thread_id: UUID
    role: Role
    parts: list[Part]
    text_content: str
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    created_at: datetime
    feedback: MessageFeedback | None


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    # Objects here, checked part by part by the service (models.messages.Part), so that an invalid
    # part is a 422 naming its index and field rather than a 400 about the whole body.
    parts: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=200,
        description=(
            "typed parts, each with a `type`: text {text}, reasoning {text}, tool_call {tool_call_id, "
            "tool_name, arguments (object)}, tool_result {tool_call_id, tool_name, result, is_error?}, "
            "file {name?, mime_type?, uri}"
        ),
        json_schema_extra={"items": PART_SCHEMA},
    )
    model: str | None = Field(default=None, max_length=200)
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)


class MessagesAppend(BaseModel):
    """Messages to append to a thread in one transaction, in order: one message is a batch of one."""

    model_config = ConfigDict(extra="forbid")

    messages: list[MessageCreate] = Field(min_length=1, max_length=100)


class MessageList(BaseModel):
    """The messages an append created, in order."""

    messages: list[Message]


class NewMessage(BaseModel):
    """A validated message as append_messages inserts it."""

    role: Role
    parts: list[dict[str, Any]]
    text_content: str
    model: str | None
    input_tokens: int | None
    output_tokens: int | None


class FeedbackPut(BaseModel):
    rating: Rating
    comment: str | None = Field(default=None, max_length=10_000)


class Feedback(BaseModel):
    id: UUID
    org_id: UUID
    message_id: UUID
    thread_id: UUID
    user_id: UUID
    rating: Rating
    comment: str | None
    created_at: datetime
    updated_at: datetime
