"""The schema snapshot: sql/schema.sql, the schema all migrations produce, dumped by pg_dump and normalized."""

from __future__ import annotations

import difflib
import re
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from agentpress.db import embedded, migrations
from agentpress.db.paths import MIGRATIONS_DIR, QUERIES_DIR

SNAPSHOT = QUERIES_DIR.parent / "schema.sql"
HEADER = (
    "-- The schema that migrations/ produce, dumped by pg_dump and normalized: `make schema` writes it,\n"
    "-- and a test fails when it differs from what the migrations make. Edit the migrations, not this file.\n"
)
# Lines of pg_dump's output that change between runs or servers and say nothing about the schema:
# pg_dump 18's \restrict lines carry a random key per run; the banners name the versions; the SET
# and set_config lines set up the restoring session.
_NOISE = re.compile(
    r"^(\\restrict |\\unrestrict |-- Dumped (from|by) |SET [a-z_]+ = .*;$|SELECT pg_catalog\.set_config\()"
)
# pg_dump's three-line banner before each object: --, -- Name: x; Type: TABLE; Schema: public; Owner: -, --
_BANNER = re.compile(r"^--\n-- Name: (?P<name>.+?); Type: (?P<type>[^;]+);[^\n]*\n--\n", re.MULTILINE)
_DUMP_TITLE = re.compile(r"^--\n-- PostgreSQL database dump( complete)?\n--\n", re.MULTILINE)


class SchemaDumpError(Exception):
    """pg_dump failed; the message is its own."""


def normalize(dump: str) -> str:
    """pg_dump's text without its per-run lines and banners; each object under a one-line `-- TYPE name`.

    pg_dump already writes objects in a stable order (by kind, then name), so two dumps of the
    same schema normalize to the same text on any run.
    """
    text = "\n".join(line for line in dump.splitlines() if not _NOISE.match(line))
    text = _DUMP_TITLE.sub("", text)
    # A comment follows its object and speaks for itself; every other object gets a one-line title.
    text = _BANNER.sub(lambda m: "" if m["type"] == "COMMENT" else f"-- {m['type']} {m['name']}\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return f"{HEADER}\n{text}\n"


def dump(url: str) -> str:
    """The normalized schema of the database at `url`, without yoyo's bookkeeping tables."""
    command = [
        str(embedded.bin_path("pg_dump")),
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-tablespaces",
        "--no-publications",
        "--no-subscriptions",
        "--no-security-labels",
        "--exclude-table=_yoyo_*",
        "--exclude-table=yoyo_*",
        f"--dbname={url}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise SchemaDumpError(done.stderr.strip() or f"pg_dump exited with {done.returncode}")
    return normalize(done.stdout)


def diff(expected: str, actual: str, *, actual_label: str = "migrations") -> str:
    """A unified diff from the committed snapshot to the schema found; empty when they agree."""
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True), "sql/schema.sql", actual_label
    )
    return "".join(lines)


def read_snapshot(path: Path | None = None) -> str:
    """The committed snapshot; empty when there is none yet."""
    path = path or SNAPSHOT
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def snapshot_diff(url: str, *, snapshot: Path | None = None) -> str:
    """The diff from the snapshot to the schema of the database at `url`; empty when they agree."""
    return diff(read_snapshot(snapshot), dump(url), actual_label=urlsplit(url).path.lstrip("/") or "database")


@contextmanager
def scratch_database(url: str, prefix: str = "agentpress_schema") -> Iterator[str]:
    """A new, empty database beside the one at `url` (from template0), dropped afterwards; yields its URL.

    Its name is unique, so two runs on one server never drop each other's; template0, so nothing a
    server added to template1 (extensions, tables) ends up in the schema.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrated_schema(url: str, source: Path = MIGRATIONS_DIR) -> str:
    """The schema every migration makes, built in a scratch database on the server of `url`."""
    with scratch_database(url) as scratch:
        migrations.apply(scratch, source=source)
        return dump(scratch)


def write_snapshot(url: str, *, snapshot: Path | None = None) -> bool:
    """Write the snapshot from migrations applied on the server of `url`; False when it was already current."""
    path = snapshot or SNAPSHOT
    schema = migrated_schema(url)
    if read_snapshot(path) == schema:
        return False
    path.write_text(schema, encoding="utf-8")
    return True


def check_snapshot(url: str, *, snapshot: Path | None = None) -> str:
    """The diff from the snapshot to what the migrations make on the server of `url`; empty when current."""
    return diff(read_snapshot(snapshot), migrated_schema(url))
