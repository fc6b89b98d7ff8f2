"""The API docs work offline: every asset the docs pages reference is served by the service itself (from the
swagger-ui-py wheel), with its content type and a long cache lifetime, and nothing points at another host."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

PAGES = ("/schema", "/schema/swagger")
CONTENT_TYPES = {
    # text/javascript is the registered type (RFC 9239); Python before 3.12 guesses the older application/javascript.
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/vnd.oai.openapi+json", "application/json"),
}
# Any URL with a scheme or a host of its own: a CDN, a font host, an analytics beacon.
_ABSOLUTE = re.compile(r"""(?:https?:)?//[\w.-]+""")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
# A quoted path in the page's own scripts: a URL its config points to (a document's url, an OAuth redirect).
_SCRIPT_PATH = re.compile(r"""['"](/[\w./-]*)['"]""")
URL_ATTRIBUTES = {"src", "href", "data-url", "action", "poster"}


class References(HTMLParser):
    """The URLs a page's tags reference, and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in URL_ATTRIBUTES and value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def page_references(page: httpx.Response, document: bytes) -> list[str]:
    """What loading `page` fetches: tag URLs, and paths its inline scripts name. The OpenAPI document the page
    embeds is taken out first: its text (descriptions, examples) is data the page shows, not URLs it loads."""
    html = page.content.replace(document, b"{}").decode()
    parser = References()
    parser.feed(html)
    assert _ABSOLUTE.findall(html) == [], "the page names another host"
    script_paths = [path for script in parser.scripts for path in _SCRIPT_PATH.findall(script)]
    return [*parser.urls, *script_paths]


def assert_csp_allows_the_page(response: httpx.Response) -> None:
    """If a Content-Security-Policy is sent, it must let the page run: its scripts and styles come from the
    service, and Litestar's page starts Swagger UI from an inline script and sets an inline style."""
    policy = response.headers.get("content-security-policy")
    if policy is None:
        return
    directives = {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}
    for kind in ("script-src", "style-src"):
        allowed = directives.get(kind, directives.get("default-src", ["*"]))
        assert "'self'" in allowed or "*" in allowed, (kind, policy)
        assert "'unsafe-inline'" in allowed or any(v.startswith(("'nonce-", "'sha")) for v in allowed), (kind, policy)


def assert_served(client: TestClient[Litestar], url: str) -> httpx.Response:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    suffix = "." + urlsplit(url).path.rsplit(".", 1)[-1]
    content_type = response.headers["content-type"].split(";")[0].strip()
    assert content_type in CONTENT_TYPES[suffix], (url, content_type)
    # The security headers still apply: nosniff, so the content type above is what the browser goes by.
    assert response.headers["x-content-type-options"] == "nosniff"
    return response


@pytest.mark.parametrize("page_path", PAGES)
def test_every_asset_of_the_docs_page_is_served_by_the_service(client: TestClient[Litestar], page_path: str) -> None:
    document = client.get("/schema/openapi.json")
    assert document.status_code == 200
    page = client.get(page_path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert_csp_allows_the_page(page)

    references = page_references(page, document.content)
    # Swagger UI's script, its standalone preset, its styles and the favicon at least.
    assert len(references) >= 4, references
    assets = {urljoin(str(page.url), reference) for reference in references}
    assert all(urlsplit(asset).netloc == urlsplit(str(page.url)).netloc for asset in assets), assets
    for asset in sorted(assets):
        response = assert_served(client, asset)
        # The assets' path names the wheel's version: an upgrade is a new URL, so they may be kept for good.
        cache_control = response.headers["cache-control"]
        assert "immutable" in cache_control and "max-age=31536000" in cache_control, (asset, cache_control)
        if asset.endswith(".css"):
            # What the styles load in turn (images, fonts): inline data or files of the service.
            for url in _CSS_URL.findall(response.text):
                if not url.startswith("data:"):
                    assert not _ABSOLUTE.match(url), (asset, url)
                    assert_served(client, urljoin(asset, url))


def test_the_document_names_no_other_host(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    # Swagger UI sends "try it out" requests to the document's servers: relative, so to the service itself.
    assert all(not _ABSOLUTE.match(server["url"]) for server in document.get("servers", [])), document["servers"]


def test_an_unknown_asset_is_a_404(client: TestClient[Litestar]) -> None:
    page = client.get("/schema")
    [bundle] = [url for url in page_references(page, client.get("/schema/openapi.json").content) if "bundle" in url]
    missing = client.get(bundle.replace("swagger-ui-bundle.js", "no-such-file.js"))
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"
