"""Statement statistics under the names of the service's queries: what `agentpress db top` prints.

Each named query is sent as `/* <file>.<name> */ <statement>`. PostgreSQL 18's pg_stat_statements
drops a comment that leads the statement (older versions keep it), and it replaces constants with
$n and squashes lists of constants. So a statement is named by its skeleton, the text with
comments, constants and parameters taken out, matched against the skeletons of sql/queries/; the
comment, where the server kept it, names statements of other versions of the service.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agentpress.db.queries import Registry
from agentpress.models.statements import TopStatement

NAME_WIDTH = 60
# What pg_stat_statements may write differently from the source: comments, parameters ($n),
# constants (strings, numbers, booleans, null). Strings and comments come first, so that a `--` in
# a string or a quote in a comment is read as part of it.
_TOKENS = re.compile(
    r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|\$\d+|(?<![\w$.])\d+(?:\.\d+)?(?:e[+-]?\d+)?\b|\b(?:true|false|null)\b",
    re.IGNORECASE | re.DOTALL,
)
# The field of extract() is a string constant to the server: extract(epoch FROM x) is extract($1 FROM x).
_EXTRACT = re.compile(r"\b(extract\s*\(\s*)[a-z]+(\s+from\b)", re.IGNORECASE)
# A constant's sign is part of it; a list of constants may be squashed to its first (18+).
_SIGNED = re.compile(r"-\s*\?")
_LIST = re.compile(r"\?(?:\s*,\s*\?)+")
# Whitespace next to parentheses and commas, which the squashing changes.
_PUNCTUATION = re.compile(r"\s*([(),])\s*")
_NAMED = re.compile(r"/\* (?P<name>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*) \*/")


def skeleton(statement: str) -> str:
    """The statement without comments, with every constant and parameter a `?`, whitespace collapsed."""
    text = _TOKENS.sub(lambda m: " " if m.group(0).startswith(("--", "/*")) else "?", statement)
    text = _EXTRACT.sub(r"\1?\2", text)
    text = _LIST.sub("?", _SIGNED.sub("?", text))
    return _PUNCTUATION.sub(r"\1", " ".join(text.split()))


def query_names(registry: Registry) -> dict[str, str]:
    """The `file.name` of each named query, by skeleton (queries alike in all but constants share one entry)."""
    names: dict[str, str] = {}
    for query in registry:
        key = skeleton(query.positional_sql())
        names[key] = f"{names[key]} | {query.domain}.{query.name}" if key in names else f"{query.domain}.{query.name}"
    return names


def statement_name(query: str | None, names: dict[str, str]) -> str:
    """`file.name` for a named query of the service; otherwise the first words of the statement."""
    if query is None:
        return "(text unavailable)"
    named = names.get(skeleton(query)) or (match["name"] if (match := _NAMED.search(query)) else None)
    if named:
        return named
    words = " ".join(query.split())
    return words if len(words) <= NAME_WIDTH else words[: NAME_WIDTH - 3] + "..."


def format_top(statements: Iterable[TopStatement], names: dict[str, str]) -> str:
    """A table: name, calls, total ms, mean ms, rows; one line per statement."""
    named = [(statement_name(s.query, names), s) for s in statements]
    width = max([len("name"), *(len(name) for name, _ in named)])
    lines = [f"{'name':<{width}}  {'calls':>10}  {'total ms':>12}  {'mean ms':>10}  {'rows':>10}"]
    lines += [
        f"{name:<{width}}  {s.calls:>10}  {s.total_ms:>12.1f}  {s.mean_ms:>10.3f}  {s.rows:>10}" for name, s in named
    ]
    return "\n".join(lines)
