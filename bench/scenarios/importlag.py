"""Scenario 8: the event loop's lag (a /health round trip) while config imports of a heavy archive are uploaded."""

from __future__ import annotations

import json
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from agentpress.services.desktop.layout import MAX_FILE_BYTES, build_archive, read_directory
from bench.common import Server, Table, percentile_ms
from bench.scenarios.http import register, service

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "desktop"
# Uploading at once: more than the readers one process runs (its cores), so some wait their turn too.
IMPORTERS = 4
# One channel with this many settings: a channels.yaml just under the file limit, about 2 s of pure-Python
# YAML on one core; it is valid, so each import goes all the way (as a dry run: nothing is written).
HEAVY_SETTINGS = 40_000


def heavy_archive() -> bytes:
    settings = "".join(f"      k{index}: v{index}\n" for index in range(HEAVY_SETTINGS))
    channels = f"channels:\n  - name: heavy\n    kind: web\n    settings:\n{settings}".encode()
    assert len(channels) < MAX_FILE_BYTES
    files, _ = read_directory(SAMPLE)
    return build_archive({**files, "channels.yaml": channels}, "zip")


def probe(port: int, seconds: float) -> list[float]:
    """/health round trips, one after another, for `seconds`."""
    latencies = []
    deadline = time.perf_counter() + seconds
    while (started := time.perf_counter()) < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=60) as response:
            response.read()
        latencies.append(time.perf_counter() - started)
    return latencies


def import_loop(port: int, token: str, archive: bytes, stop: threading.Event, out: dict[str, Any]) -> None:
    """Upload the archive again and again until told to stop; each import's seconds and status."""
    while not stop.is_set():
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/config/import?dry_run=true",
            data=archive,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/zip"},
            method="POST",
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                json.load(response)
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        out["seconds"].append(time.perf_counter() - started)
        out["statuses"].append(status)


def run(server: Server, quick: bool) -> list[Table]:
    seconds = 4.0 if quick else 15.0
    archive = heavy_archive()
    database_url = server.database("importlag")
    with (
        tempfile.TemporaryDirectory(prefix="bench-importlag-") as tmp,
        # One worker, as the scenario was measured before serve's default became one per core.
        service(database_url, None, Path(tmp), workers=1) as (port, _),
    ):
        token = register(port)
        probe(port, 0.5)  # warm-up
        idle = probe(port, seconds)
        stop = threading.Event()
        imports: dict[str, Any] = {"seconds": [], "statuses": []}
        importers = [
            threading.Thread(target=import_loop, args=(port, token, archive, stop, imports)) for _ in range(IMPORTERS)
        ]
        for thread in importers:
            thread.start()
        time.sleep(0.5)  # every importer has its upload in
        busy = probe(port, seconds)
        stop.set()
        for thread in importers:
            thread.join()

    def row(name: str, latencies: list[float], done: list[float], errors: int) -> list[Any]:
        return [
            name,
            len(latencies),
            round(percentile_ms(latencies, 50), 2),
            round(percentile_ms(latencies, 99), 2),
            round(max(latencies) * 1000, 1),
            len(done),
            round(percentile_ms(done, 50) / 1000, 2) if done else None,
            errors,
        ]

    errors = sum(status != 200 for status in imports["statuses"])
    return [
        Table(
            scenario="importlag",
            title=f"Event loop lag: /health round trips, alone and during {IMPORTERS} concurrent config imports",
            columns=["while", "health calls", "p50 ms", "p99 ms", "max ms", "imports", "import p50 s", "import errors"],
            rows=[
                row("no imports (comparator)", idle, [], 0),
                row(f"{IMPORTERS} imports of a {len(archive) >> 10} KiB zip at once", busy, imports["seconds"], errors),
            ],
            notes=[
                f"Each import is a dry run of the sample tree with a channels.yaml of {HEAVY_SETTINGS:,} settings "
                f"(just under the {MAX_FILE_BYTES >> 20} MiB file limit), parsed in a child process per import, "
                "as many at once as the server has cores, the others waiting their turn. /health is probed one "
                f"call after another for {seconds:g} s in each phase, on one `agentpress serve` process.",
                "With the parse on the event loop (before issue 16) one such upload stopped /health for its whole "
                "parse (a 2 MB YAML list: 32 s); what remains here is the share of the cores the children take.",
            ],
        )
    ]
