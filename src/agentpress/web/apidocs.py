"""The API docs page: Swagger UI from the swagger-ui-py wheel, served by the service itself (no CDN)."""

from __future__ import annotations

from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

# Why Swagger UI and not Scalar (the docs were Scalar's `@latest` from a CDN): the wheels on PyPI that bundle
# Scalar's standalone script (flask-openapi3-scalar, star-openapi-scalar) each require a web framework of their
# own (Flask, Starlette) only to ship one JS file, and Scalar's page loads its fonts from Scalar's host unless
# told not to. swagger-ui-py ships Swagger UI's dist files (5.24.2, which reads OpenAPI 3.1, the version Litestar
# writes) and needs only Jinja2 and packaging beside PyYAML, which the service already has. swagger-ui-bundle,
# the better-known wheel, ships Swagger UI 4.15, which cannot render an OpenAPI 3.1 document.
#
# The distribution pinned in pyproject.toml, and the package it installs (found without importing it: its
# __init__ imports Jinja2 and web-framework adapters the service never uses; only its static/ folder is read).
DISTRIBUTION = "swagger-ui-py"
PACKAGE = "swagger_ui"
# A year, immutable: the path names the wheel's version, so an upgrade is a new URL and a browser may keep a
# file for as long as it likes.
CACHE_CONTROL = CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True)


def assets_directory() -> Path:
    """Swagger UI's dist files (swagger-ui-bundle.js, swagger-ui.css, ...) as the wheel ships them."""
    spec = find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the {DISTRIBUTION} package is not installed: the API docs need it (pyproject.toml)")
    return Path(spec.origin).parent / "static"


def assets_path(schema_path: str) -> str:
    """Where the assets are served: under the docs' own path, named by the wheel's version."""
    return f"{schema_path}/assets/swagger-ui-{version(DISTRIBUTION)}"


def assets_router(schema_path: str) -> Router:
    """The static files router of the assets: GET only, not in the OpenAPI document, cacheable for good."""
    return create_static_files_router(
        path=assets_path(schema_path),
        directories=[assets_directory()],
        name="apidocs-assets",
        cache_control=CACHE_CONTROL,
        include_in_schema=False,
    )


def swagger_plugin(schema_path: str) -> SwaggerRenderPlugin:
    """Swagger UI at the docs' root and at /swagger, its script, styles and icon from assets_router()."""
    assets = assets_path(schema_path)
    return SwaggerRenderPlugin(
        path=["/", "/swagger"],
        js_url=f"{assets}/swagger-ui-bundle.js",
        css_url=f"{assets}/swagger-ui.css",
        standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
        favicon=f'<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">',
    )
