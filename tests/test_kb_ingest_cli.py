"""`agentpress kb ingest FILE.jsonl`: sources' chunks replaced from a JSONL file, with progress and a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import SECRET_KEY

from agentpress import cli

DIMENSIONS = 3072


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("APP_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REDIS_URL", "off")
    return database_url


@pytest.fixture
def sources(env: str) -> dict[str, str]:
    """In an org of its own: a knowledge base with a file, a freeform text and a table (ids as text)."""
    with psycopg.connect(env) as conn:
        (org_id,) = conn.execute(
            "INSERT INTO orgs (name, slug) VALUES ('Ingest', 'ingest') RETURNING id::text"
        ).fetchone()  # type: ignore[misc]
        (kb_id,) = conn.execute(
            "INSERT INTO knowledge_bases (org_id, name) VALUES (%s, 'Docs') RETURNING id::text", [org_id]
        ).fetchone()  # type: ignore[misc]
        (file_id,) = conn.execute(
            "INSERT INTO knowledge_base_files (org_id, knowledge_base_id, name, storage_uri) "
            "VALUES (%s, %s, 'a.pdf', 's3://b/a.pdf') RETURNING id::text",
            [org_id, kb_id],
        ).fetchone()  # type: ignore[misc]
        (text_id,) = conn.execute(
            "INSERT INTO knowledge_base_freeform_texts (org_id, knowledge_base_id, title, content) "
            "VALUES (%s, %s, 'Note', 'text') RETURNING id::text",
            [org_id, kb_id],
        ).fetchone()  # type: ignore[misc]
        (table_id,) = conn.execute(
            "INSERT INTO knowledge_base_tables (org_id, knowledge_base_id, name, columns) "
            "VALUES (%s, %s, 'prices', '[]') RETURNING id::text",
            [org_id, kb_id],
        ).fetchone()  # type: ignore[misc]
    return {"org_id": org_id, "kb_id": kb_id, "file": file_id, "freeform_text": text_id, "table": table_id}


def line(kb_id: str, kind: str, source_id: str, index: int, /, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "knowledge_base_id": kb_id,
        "source_kind": kind,
        "source_id": source_id,
        "chunk_index": index,
        "content": f"{kind} chunk {index}",
        "embedding": [((index + i) % 9 - 4) / 8 for i in range(DIMENSIONS)],
        "metadata": {"index": index},
    }
    value.update(changes)
    return value


def write_jsonl(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in lines))
    return path


def counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT CASE WHEN file_id IS NOT NULL THEN 'file' WHEN freeform_text_id IS NOT NULL THEN 'freeform_text' "
            "WHEN table_id IS NOT NULL THEN 'table' ELSE 'web_url' END, count(*) FROM embeddings GROUP BY 1"
        ).fetchall()
    return dict(rows)


def test_a_file_of_three_sources_is_ingested_with_progress_and_a_summary(
    sources: dict[str, str], env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb_id = sources["kb_id"]
    lines: list[dict[str, Any] | str] = [
        *(line(kb_id, "file", sources["file"], i) for i in range(40)),
        "",  # blank lines are skipped
        # The API's path spelling is taken too.
        *(line(kb_id, "freeform-texts", sources["freeform_text"], i) for i in range(25)),
        *(line(kb_id, "table", sources["table"], i) for i in range(15)),
    ]
    path = write_jsonl(tmp_path / "chunks.jsonl", lines)
    assert cli.main(["kb", "ingest", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "[##############################] 100% 80 chunks, 3 sources" in err
    assert out.startswith("ingested 80 chunks of 3 sources in ")
    assert out.rstrip().endswith("chunks/s)")
    assert counts(env) == {"file": 40, "freeform_text": 25, "table": 15}
    with psycopg.connect(env) as conn:
        statuses = conn.execute(
            "SELECT status FROM knowledge_base_files UNION ALL SELECT status FROM knowledge_base_freeform_texts "
            "UNION ALL SELECT status FROM knowledge_base_tables"
        ).fetchall()
        (org_ids,) = conn.execute("SELECT array_agg(DISTINCT org_id::text) FROM embeddings").fetchone()  # type: ignore[misc]
    assert statuses == [("ready",)] * 3
    assert org_ids == [sources["org_id"]]

    # A second run replaces: the file now has 2 chunks, the others keep theirs.
    path = write_jsonl(tmp_path / "again.jsonl", [line(kb_id, "file", sources["file"], i) for i in range(2)])
    assert cli.main(["kb", "ingest", str(path)]) == 0
    assert counts(env) == {"file": 2, "freeform_text": 25, "table": 15}


BAD_EMBEDDING = [0.25] * 1536


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"embedding": BAD_EMBEDDING}, "line 5: embedding: has 1536 values, not 3072"),
        ({"embedding": [float("nan")] * DIMENSIONS}, "line 5: embedding: holds nan at [0]; values must be finite"),
        ({"chunk_index": 0}, "line 5: chunk_index: 0 is also on line 3"),
        ({"chunk_index": -2}, "line 5: chunk_index: is -2; it must be 0 or more"),
        ({"content": ""}, "line 5: content: is empty"),
        ({"source_kind": "videos"}, "line 5: source_kind: 'videos' is not one of"),
        ({"source_id": "not-a-uuid"}, "line 5: source_id: Input should be a valid UUID"),
        ("{not json", "line 5: not JSON"),
    ],
    ids=["short", "nan", "duplicate", "negative", "empty", "kind", "source-id", "json"],
)
def test_an_invalid_line_stops_with_exit_2_naming_it_and_nothing_of_its_source_is_written(
    sources: dict[str, str],
    env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bad: dict[str, Any] | str,
    message: str,
) -> None:
    kb_id = sources["kb_id"]
    # The text already has chunks from an earlier load: they must survive the failed one.
    first = write_jsonl(tmp_path / "first.jsonl", [line(kb_id, "freeform_text", sources["freeform_text"], 9)])
    assert cli.main(["kb", "ingest", str(first)]) == 0
    capsys.readouterr()

    lines: list[dict[str, Any] | str] = [
        line(kb_id, "file", sources["file"], 0),
        line(kb_id, "file", sources["file"], 1),
        line(kb_id, "freeform_text", sources["freeform_text"], 0),
        line(kb_id, "freeform_text", sources["freeform_text"], 1),
        bad if isinstance(bad, str) else line(kb_id, "freeform_text", sources["freeform_text"], 2, **bad),
        line(kb_id, "table", sources["table"], 0),
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    assert cli.main(["kb", "ingest", str(path)]) == 2
    _, err = capsys.readouterr()
    assert f"agentpress: {path}: {message}" in err, err
    # The file before the bad line is written; the text keeps its old chunk; the table after it is not reached.
    assert counts(env) == {"file": 2, "freeform_text": 1}
    with psycopg.connect(env) as conn:
        (content,) = conn.execute("SELECT content FROM embeddings WHERE freeform_text_id IS NOT NULL").fetchone()  # type: ignore[misc]
    assert content == "freeform_text chunk 9"


def test_a_source_that_does_not_exist_or_comes_back_later_stops_the_load(
    sources: dict[str, str], env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb_id = sources["kb_id"]
    missing = "00000000-0000-0000-0000-000000000000"
    path = write_jsonl(tmp_path / "missing.jsonl", [line(kb_id, "file", missing, 0)])
    assert cli.main(["kb", "ingest", str(path)]) == 2
    assert f"line 1: no file source {missing} in knowledge base {kb_id}" in capsys.readouterr().err

    # A source's lines must be consecutive: a second run of them would replace the first.
    lines: list[dict[str, Any] | str] = [
        line(kb_id, "file", sources["file"], 0),
        line(kb_id, "table", sources["table"], 0),
        line(kb_id, "file", sources["file"], 1),
    ]
    path = write_jsonl(tmp_path / "split.jsonl", lines)
    assert cli.main(["kb", "ingest", str(path)]) == 2
    assert "line 3: source " in capsys.readouterr().err
    assert counts(env) == {"file": 1, "table": 1}


def test_a_missing_file_is_exit_2(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["kb", "ingest", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
