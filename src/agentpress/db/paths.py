"""Where the SQL lives: the repository's sql/ and migrations/ folders, or their copies inside a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
_REPOSITORY = _PACKAGE.parents[1]


def _first_existing(*candidates: Path) -> Path:
    return next((path for path in candidates if path.is_dir()), candidates[-1])


QUERIES_DIR = _first_existing(_PACKAGE / "_sql" / "queries", _REPOSITORY / "sql" / "queries")
MIGRATIONS_DIR = _first_existing(_PACKAGE / "_migrations", _REPOSITORY / "migrations")
