"""Responses: a pydantic model returned by a handler is encoded to JSON by pydantic's serializer, in one pass."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import MediaType, Response
from litestar.serialization import default_serializer
from litestar.types import Serializer
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

T = TypeVar("T")


class ModelResponse(Response[T]):
    """The app's response class. Litestar encodes a model with msgspec, whose hook asks pydantic for the model as
    Python values (model_dump in JSON mode) and then encodes those: twice the work of pydantic's own JSON
    serializer, which gives the same bytes (by alias, as the bodies' plugin documents them): 5-10% of a list's
    or an append's CPU in process (docs/benchmarks.md, issue 21)."""

    def render(self, content: Any, media_type: str, enc_hook: Serializer = default_serializer) -> bytes:
        if isinstance(content, BaseModel) and media_type == MediaType.JSON:
            try:
                return content.__pydantic_serializer__.to_json(content, by_alias=True)
            except PydanticSerializationError:
                pass  # a value pydantic cannot encode: Litestar's hooks may know it
        return super().render(content, media_type, enc_hook)
