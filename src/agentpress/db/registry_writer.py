"""Writes db/registry.py from sql/queries/*.sql: the named queries as typed attributes, one class per file."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from agentpress.db.paths import QUERIES_DIR
from agentpress.db.queries import Query, Registry, load_queries

REGISTRY = Path(__file__).with_name("registry.py")
_WIDTH = 120  # ruff's line length

_HEADER = '''\
"""The named queries of sql/queries/, typed for editors and mypy: written by `make sql-registry`; do not edit."""

# One class per query file, one attribute per query, its docstring naming the file and line: an editor's
# go-to-definition on `queries.tasks.claim_tasks` lands here, and mypy knows every name. agentpress.db.queries
# binds the parsed queries to these classes; tests/test_queries.py fails when this file is out of date.

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentpress.db.queries import Query
'''


def class_name(domain: str) -> str:
    """`knowledge_base_sources` -> `KnowledgeBaseSourcesQueries`."""
    return "".join(part.capitalize() for part in domain.split("_")) + "Queries"


def render(registry: Registry) -> str:
    """The text of db/registry.py for the registry's files."""
    out = [_HEADER.rstrip()]
    for name, domain in sorted(registry.domains.items()):
        out += ["", "", f"class {class_name(name)}:"]
        summary = _summary(registry.root / f"{name}.sql")
        out += _docstring(f"sql/queries/{name}.sql: {summary}" if summary else f"sql/queries/{name}.sql", indent=4)
        for query in sorted(domain.queries.values(), key=lambda q: q.line):
            out += ["", f"    {query.name}: Query"]
            out += _docstring(_describe(query), indent=4)
    out += ["", "", "class ServiceQueries:"]
    out += _docstring("Every query file of sql/queries/, by name: the type of agentpress.db.queries.queries.", indent=4)
    out.append("")
    out += [f"    {name}: {class_name(name)}" for name in sorted(registry.domains)]
    return "\n".join(out) + "\n"


def _describe(query: Query) -> str:
    where = f"sql/queries/{query.file.name}:{query.line} `:{query.kind}`."
    return f"{where} {query.doc}" if query.doc else where


def _summary(path: Path) -> str:
    """The first sentence of the comment that opens a query file."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--") or line.startswith("-- name:"):
            break
        lines.append(line.removeprefix("--").strip())
    text = " ".join(lines).strip()
    end = text.find(". ")
    return text if end == -1 else text[: end + 1]


def _docstring(text: str, *, indent: int) -> list[str]:
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    pad = " " * indent
    return textwrap.wrap(
        f'"""{text}"""',
        width=_WIDTH,
        initial_indent=pad,
        subsequent_indent=pad,
        break_long_words=False,
        break_on_hyphens=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentpress.db.registry_writer", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail (exit 1) when db/registry.py is out of date")
    args = parser.parse_args(argv)
    written = render(load_queries(QUERIES_DIR))
    current = REGISTRY.read_text(encoding="utf-8") if REGISTRY.exists() else ""
    if args.check:
        if written != current:
            print(f"{REGISTRY} is out of date: run `make sql-registry`", file=sys.stderr)
            return 1
        print(f"{REGISTRY} is up to date")
        return 0
    REGISTRY.write_text(written, encoding="utf-8")
    print(f"wrote {REGISTRY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
