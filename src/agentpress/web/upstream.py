"""A third party's failure as a caller sees it: a generic 502 with a request id; what it said goes to the log."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from agentpress.web.errors import ApiError

REQUEST_ID_HEADER = "X-Request-Id"


def upstream_failure(log: logging.Logger, detail: str, *, provider_detail: str | None, **fields: Any) -> ApiError:
    """A 502 `bad_gateway` whose detail is `detail` (our own words) and a new request id, also sent as
    X-Request-Id. The provider's own words (`provider_detail`: an error body, an exception) are logged under
    that id and never answered: they may echo a key, an account or the request."""
    request_id = secrets.token_hex(8)
    log.warning(
        "upstream failure: %s",
        detail,
        extra={"request_id": request_id, "provider_detail": provider_detail, **fields},
    )
    return ApiError(
        502,
        "bad_gateway",
        f"{detail} (request id {request_id})",
        headers={REQUEST_ID_HEADER: request_id},
    )
