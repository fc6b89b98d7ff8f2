"""Every repository path the documentation cites exists, and every relative Markdown link resolves.

Where paths are looked for: README.md and docs/*.md (all their text, code blocks included), and the
comments (`-- ...` and `/* ... */`) of sql/queries/*.sql and migrations/*.sql.

What counts as a cited path, and how it is checked:

- A rooted path: one that starts with a top-level folder of the repository (`ROOTS`: `src/`,
  `tests/`, `sql/`, `docs/`, `migrations/`, `bench/`, `examples/`, `.ci/`) followed by more path.
  It must exist, as a file or a folder. A module reference written as a path with an attribute
  after it (`src/agentpress/queries.Query`) passes when the module (`src/agentpress/db/queries.py`)
  exists.
- An unrooted path with a slash and a file extension in `EXTENSIONS` (`repositories/embeddings.py`):
  a file of the package, so it must exist under `src/agentpress/`, at the repository root, or beside
  the file that cites it.
- Skipped: anything with a placeholder (`<domain>`, `{kind}`, `*`, `NNNN`, `YYYY`, `...`), a bare
  file name without a slash (`conftest.py`), a dotted module reference without a file extension
  (`web/connections.release_connections`), URLs, runtime folders such as `.data/` and paths on
  someone else's machine (`~/.viben`).

Links: every `[text](target)` in README.md and docs/*.md outside code blocks whose target is not a
URL (`http:`, `https:`, `mailto:`) must name an existing file or folder relative to the file that
holds it; a `#fragment` on a link to a Markdown file (or a bare `#fragment`, to the same file) must
be one of that file's headings as GitHub turns them into anchors. Fragments on other files (the
catalogue's `#L6` line anchors) are not checked.

The last tests check the checker: made-up paths, links and anchors are reported, and the skipped
forms are not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "agentpress"
ROOTS = ("src", "tests", "sql", "docs", "migrations", "bench", "examples", ".ci")
EXTENSIONS = ("py", "sql", "md", "json", "jsonl", "toml", "yaml", "yml", "txt", "sh", "cfg", "ini")
PLACEHOLDERS = ("<", ">", "{", "}", "*", "NNNN", "YYYY", "...")

_EDGE = r"(?<![\w./~-])"  # not the middle of a longer path, a URL or a home folder
_ROOT_NAMES = "|".join(re.escape(root) for root in ROOTS)
_ROOTED = re.compile(_EDGE + rf"((?:{_ROOT_NAMES})/[\w./<>{{}}*-]*)")
_UNROOTED = re.compile(_EDGE + rf"([A-Za-z_][\w-]*/[\w./<>{{}}*-]*\.(?:{'|'.join(EXTENSIONS)}))(?![\w.])")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def sql_files() -> list[Path]:
    return [*sorted((REPO / "sql" / "queries").glob("*.sql")), *sorted((REPO / "migrations").glob("*.sql"))]


def cited_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return "\n".join(_SQL_COMMENT.findall(text)) if path.suffix == ".sql" else text


def cited_paths(text: str) -> list[tuple[str, bool]]:
    """The paths `text` cites, each with whether it is rooted, placeholders left out."""
    found = [(m.group(1).rstrip("."), True) for m in _ROOTED.finditer(text)]
    found += [(m.group(1), False) for m in _UNROOTED.finditer(text) if not m.group(1).startswith(ROOTS)]
    return [(path, rooted) for path, rooted in found if not any(mark in path for mark in PLACEHOLDERS)]


def path_exists(cited: str, rooted: bool, beside: Path) -> bool:
    if not rooted:
        return any((base / cited).is_file() for base in (PACKAGE, REPO, beside))
    target = REPO / cited
    if target.exists():
        return True
    module, dot, _attribute = cited.rpartition(".")
    return bool(dot) and "/" not in _attribute and (REPO / f"{module}.py").is_file()


def missing_paths(text: str, beside: Path) -> list[str]:
    return sorted({path for path, rooted in cited_paths(text) if not path_exists(path, rooted, beside)})


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    result = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _FENCE.sub("", markdown), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def link_resolves(target: str, markdown: str, source: Path) -> bool:
    file_part, _, fragment = target.partition("#")
    if not file_part:
        return fragment in anchors(markdown)
    resolved = (source.parent / file_part).resolve()
    if not resolved.exists():
        return False
    if fragment and resolved.suffix == ".md" and resolved.is_file():
        return fragment in anchors(resolved.read_text(encoding="utf-8"))
    return True


def broken_links(markdown: str, source: Path) -> list[str]:
    targets = _LINK.findall(_FENCE.sub("", markdown))
    return [
        target
        for target in targets
        if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not link_resolves(target, markdown, source)
    ]


def _name(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", documents() + sql_files(), ids=_name)
def test_every_cited_path_exists(path: Path) -> None:
    assert missing_paths(cited_text(path), path.parent) == []


@pytest.mark.parametrize("path", documents(), ids=_name)
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path.read_text(encoding="utf-8"), path) == []


def test_the_readme_stays_a_front_door() -> None:
    assert (REPO / "README.md").stat().st_size < 15_000


def test_the_path_check_reports_made_up_paths() -> None:
    text = """
    See tests/sql/test_made_up.py and `src/agentpress/nowhere/` and repositories/made_up.py,
    -- plan tests: tests/sql/test_plan_contracts.py (real), tests/sql/test_plans.py (not)
    Real: src/agentpress/db/queries.py, sql/queries/tasks.sql:12, src/agentpress/db/queries.Query, bench/.
    Skipped: sql/queries/<domain>.sql, bench/results/partial.*, migrations/NNNN.slug.sql,
    web/connections.release_connections, conftest.py, ~/.viben/agents/x.yaml, .data/postgres/,
    https://example.com/docs/missing.md, /schema/openapi.json.
    """
    assert missing_paths(text, REPO / "docs") == [
        "repositories/made_up.py",
        "src/agentpress/nowhere/",
        "tests/sql/test_made_up.py",
        "tests/sql/test_plans.py",
    ]
    sql = "SELECT 1; -- as tests/sql/test_made_up.py checks\n/* and docs/made_up.md */ SELECT 'tests/x.py';"
    assert missing_paths("\n".join(_SQL_COMMENT.findall(sql)), REPO) == ["docs/made_up.md", "tests/sql/test_made_up.py"]


def test_the_link_check_reports_made_up_links_and_anchors() -> None:
    markdown = """# Title

## Key rotation

[ok](../README.md#first-steps) [ok](limits.md) [ok](#key-rotation) [ok](https://example.com/x.md)
[ok](../sql/queries/tasks.sql#L6) [ok](../examples/desktop/)
[gone](nowhere.md) [gone](limits.md#no-such-heading) [gone](#no-such-heading) [gone](../bench/missing/)

```
[in a code block](not-checked.md)
```
"""
    assert broken_links(markdown, REPO / "docs" / "made_up.md") == [
        "nowhere.md",
        "limits.md#no-such-heading",
        "#no-such-heading",
        "../bench/missing/",
    ]


def test_anchors_follow_github() -> None:
    text = "# Desktop configuration (YAML)\n## The request's database connection\n## Notes\n## Notes\n"
    text += "### agents.create_agent `:scalar`\n"
    assert anchors(text) == {
        "desktop-configuration-yaml",
        "the-requests-database-connection",
        "notes",
        "notes-1",
        "agentscreate_agent-scalar",
    }
