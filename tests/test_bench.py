"""The benchmarks' own machinery (make bench is not part of the suite): statistics, the results
block of docs/benchmarks.md, and the HTTP load generator against a server on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import loadgen, run
from bench.common import paired_ratio, percentile_ms
from bench.scenarios import http


def test_percentiles_are_nearest_rank() -> None:
    samples = [n / 1000 for n in range(1, 31)]  # 1..30 ms
    assert percentile_ms(samples, 50) == pytest.approx(15)
    assert percentile_ms(samples, 95) == pytest.approx(29)  # rank ceil(28.5) = 29, not 28
    assert percentile_ms(samples, 100) == pytest.approx(30)
    assert percentile_ms([0.004], 99) == pytest.approx(4)


def test_the_ratio_is_the_median_of_each_rounds_ratio() -> None:
    # Round 2 drifted (everything twice as slow), and its ratio is the same: the drift cancels.
    orm = [2.0, 2.0, 4.0, 4.0, 2.2, 2.2]
    repository = [1.0, 1.0, 2.0, 2.0, 1.0, 1.0]
    assert paired_ratio(orm, repository, per_round=2) == pytest.approx(2.0)


def test_the_results_block_is_in_docs_not_the_readme() -> None:
    # A full run writes its tables into docs/benchmarks.md, and finds its markers there once each.
    root = Path(run.__file__).parents[1]
    assert root / "docs" / "benchmarks.md" == run.RESULTS_DOC
    text = run.RESULTS_DOC.read_text(encoding="utf-8")
    assert text.count(run.RESULTS_DOC_START) == 1 and text.count(run.RESULTS_DOC_END) == 1
    assert text.index(run.RESULTS_DOC_START) < text.index(run.RESULTS_DOC_END)
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "bench-results:" not in readme


def test_a_full_run_rewrites_only_the_results_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Title\n\nbefore\n{run.RESULTS_DOC_START}\nold tables\n{run.RESULTS_DOC_END}\nafter\n")
    monkeypatch.setattr(run, "RESULTS_DOC", doc)
    document = {
        "machine": {
            "date": "2026-12-04T03:05:57+00:00",
            "mode": "full",
            "commit": "abc1234",
            "cpu": "Some CPU",
            "cpus": 2,
            "memory_gib": 23.5,
            "os": "Linux",
            "python": "3.11.7",
            "postgresql": "PostgreSQL 18.6, pgvector 0.8.6",
        },
        "seconds": 490.0,
        "scenarios": [{"name": "layer", "seconds": 65.0, "ok": True, "error": None}],
        "tables": [
            {"scenario": "layer", "title": "Layer", "columns": ["op", "µs"], "rows": [["get", 105]], "notes": ["n"]},
        ],
    }
    assert run.update_results_doc(document)
    assert run.update_results_doc(document)  # twice: the block is replaced, not appended to
    text = doc.read_text()
    assert text.startswith("# Title\n\nbefore\n") and text.endswith(f"{run.RESULTS_DOC_END}\nafter\n")
    assert "old tables" not in text
    assert text.count("#### layer: Layer") == 1
    assert "| get | 105 |" in text
    assert "on Some CPU x 2" in text
    assert "- n" not in text  # the notes stay in latest.md


@pytest.mark.anyio
async def test_the_load_generator_counts_statuses_bodies_and_errors() -> None:
    responses = {
        b"/length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"/fail": b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
    }

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                writer.write(responses[head.split(b" ")[1]])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    paths = ["/length", "/chunked", "/fail"]
    spec = loadgen.Spec(
        host="127.0.0.1",
        port=port,
        concurrency=3,
        warmup_s=0.05,
        duration_s=0.3,
        requests=[{"method": "GET", "path": path, "headers": {}} for path in paths],
    )
    async with server:
        summary = await loadgen.run(spec)
    assert summary.completed > 0
    assert set(summary.statuses) == {"200", "500"}
    assert summary.errors == summary.statuses["500"] > 0
    assert summary.completed == summary.statuses["200"] == len(summary.latencies_s)
    assert set(summary.cpu_s) == {"generator", "service", "postgres"}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc, which only Linux has")
def test_the_service_cpu_covers_every_worker_process() -> None:
    # serve --workers N is a supervisor whose workers are its children: their CPU is the service's too.
    sleeper = "import time; time.sleep(60)"
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {sleeper!r}])"]
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while not workers and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = loadgen.descendants(parent.pid)
        assert len(workers) == 1 and parent.pid not in workers
        assert workers[0] in loadgen.descendants(os.getpid())  # grandchildren too
        assert loadgen.tree_cpu_s(parent.pid) >= loadgen.process_cpu_s(parent.pid)
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait(timeout=10)


def test_statements_are_told_apart_from_setup_background_and_the_last_seen_write() -> None:
    assert http.statement_kind("UPDATE sessions\nSET last_seen_at = now()\nWHERE id = $1") == "last-seen write"
    assert http.statement_kind("BEGIN") == "setup or background"
    assert http.statement_kind("SELECT\n    typname AS name, oid, typarray AS array_oid") == "setup or background"
    assert http.statement_kind("DELETE FROM password_reset_requests WHERE id = $1") == "setup or background"
    assert http.statement_kind("SELECT id, org_id, user_id FROM threads WHERE id = $1") == "request"


def test_before_serve_had_workers_only_the_one_process_rows_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(http.ROWS_VARIABLE, "messages")
    assert [c.name for c in http.selected(True, True)] == [http.MESSAGES, http.MESSAGES_2]
    assert [c.name for c in http.selected(False, True)] == [http.MESSAGES]
    monkeypatch.delenv(http.ROWS_VARIABLE)
    assert all(c.service is None or c.service[1] == 1 for c in http.selected(False, True))
    assert len(http.selected(True, True)) == len(http.CONTENDERS)
    # Without the code before issue 21 at hand, its rows are left out.
    assert {c.group for c in http.selected(True, False)} == {"base", "workers", "messages"}


def test_the_before_rows_run_the_hot_routes_on_the_code_before(tmp_path: Path) -> None:
    known = subprocess.run(["git", "cat-file", "-e", f"{http.BEFORE_COMMIT}^{{commit}}"], capture_output=True)
    if known.returncode != 0:
        pytest.skip(f"this clone has no commit {http.BEFORE_COMMIT} (a shallow clone): the before rows are left out")
    source, commit = http.before_source(tmp_path)
    assert commit == http.BEFORE_COMMIT
    assert source is not None and (source / "agentpress" / "web" / "app.py").is_file()
    assert (source.parent / "sql" / "queries" / "threads.sql").is_file()
    assert [c.name for c in http.CONTENDERS if c.group == "before"] == [name + http.BEFORE for name in http.CPU_TARGETS]
