"""Schema migrations with yoyo: apply, roll back, report status and write new migration pairs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yoyo import get_backend, read_migrations

from agentpress.db.paths import MIGRATIONS_DIR

# A second process waits this long for the first to finish; CREATE INDEX CONCURRENTLY on a
# large table can take minutes, and giving up early would fail a deploy for nothing.
LOCK_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class MigrationStatus:
    migration_id: str
    is_applied: bool


def yoyo_url(database_url: str) -> str:
    """yoyo picks psycopg 2 for postgresql://; the +psycopg scheme selects psycopg 3."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", database_url)


def _backend(database_url: str) -> Any:
    return get_backend(yoyo_url(database_url))


def migration_ids(source: Path = MIGRATIONS_DIR) -> list[str]:
    return [m.id for m in read_migrations(str(source))]


def apply(database_url: str, source: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration under yoyo's lock; returns the ids applied."""
    backend = _backend(database_url)
    try:
        with backend.lock(timeout=LOCK_TIMEOUT_SECONDS):
            # Read what is pending only once the lock is held: another process may just have applied it.
            pending = backend.to_apply(read_migrations(str(source)))
            backend.apply_migrations(pending)
            return [m.id for m in pending]
    finally:
        backend.connection.close()


def rollback(
    database_url: str,
    *,
    count: int | None = 1,
    source: Path = MIGRATIONS_DIR,
) -> list[str]:
    """Roll back the last `count` applied migrations (all of them when count is None)."""
    backend = _backend(database_url)
    try:
        with backend.lock(timeout=LOCK_TIMEOUT_SECONDS):
            applied = backend.to_rollback(read_migrations(str(source)))
            chosen = applied if count is None else applied[:count]
            backend.rollback_migrations(chosen)
            return [m.id for m in chosen]
    finally:
        backend.connection.close()


def status(database_url: str, source: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    backend = _backend(database_url)
    try:
        migrations = read_migrations(str(source))
        applied = set(backend.get_applied_migration_hashes())
        return [MigrationStatus(m.id, m.hash in applied) for m in migrations]
    finally:
        backend.connection.close()


def new_migration(slug: str, source: Path = MIGRATIONS_DIR) -> tuple[Path, Path]:
    """Write `NNNN.slug.sql` and its rollback from the template, depending on the latest migration."""
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug):
        raise ValueError(f"migration name {slug!r}: use lower-case words joined by '-', e.g. add-threads")
    existing = sorted(p.name for p in source.glob("[0-9][0-9][0-9][0-9].*.sql") if ".rollback." not in p.name)
    latest = existing[-1].removesuffix(".sql") if existing else None
    number = int(existing[-1][:4]) + 1 if existing else 1
    forward = source / f"{number:04d}.{slug}.sql"
    backward = source / f"{number:04d}.{slug}.rollback.sql"
    depends = f"-- depends: {latest}\n" if latest else ""
    forward.write_text(f"-- {slug}: say what this migration does and why.\n{depends}\n")
    backward.write_text(f"-- Undo {forward.name}.\n\n")
    return forward, backward
