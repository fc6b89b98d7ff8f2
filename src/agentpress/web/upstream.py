"""A third party's failure as a caller sees it: a generic 502 with the request's id; what it said goes to the log."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from agentpress.web.errors import ApiError
from agentpress.web.logs import current_request_id


def upstream_failure(log: logging.Logger, detail: str, *, provider_detail: str | None, **fields: Any) -> ApiError:
    """A 502 `bad_gateway` whose detail is `detail` (our own words) and the request's id, the one its
    X-Request-Id header and its body's request_id carry. The provider's own words (`provider_detail`: an error
    body, an exception) are logged under that id and never answered: they may echo a key, an account or the
    request."""
    # Outside a request (none today) there is no id to share: a new one still ties the answer to the log.
    request_id = current_request_id() or secrets.token_hex(16)
    log.warning(
        "upstream failure: %s",
        detail,
        extra={"request_id": request_id, "provider_detail": provider_detail, **fields},
    )
    return ApiError(502, "bad_gateway", f"{detail} (request id {request_id})")
