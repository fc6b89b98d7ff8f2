"""Model providers (with their API keys encrypted at rest) and the models agents may use."""

from __future__ import annotations

from litestar import Controller


class ModelProvidersController(Controller):
    path = "/model-providers"
    tags = ["models"]  # noqa: RUF012 (Litestar declares it as a plain attribute)


class ModelsController(Controller):
    path = "/models"
    tags = ["models"]  # noqa: RUF012 (Litestar declares it as a plain attribute)
