"""`python -m bench.run [--quick] [--only NAME ...]`: the scenarios on a fresh embedded server, and their results."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.common import Server, Table, fresh_server

SCENARIOS = ("layer", "orm", "pgbench", "http", "vector", "fulltext", "ingest", "importlag")
RESULTS_DIR = Path(__file__).parent / "results"
RESULTS_DOC = Path(__file__).parents[1] / "docs" / "benchmarks.md"
# A full run rewrites what lies between these lines of docs/benchmarks.md with its tables.
RESULTS_DOC_START = "<!-- bench-results:start (written by make bench) -->"
RESULTS_DOC_END = "<!-- bench-results:end -->"


@dataclass
class Outcome:
    """What one scenario gave: its tables, or the error that stopped it."""

    name: str
    seconds: float
    tables: list[Table] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 1), "ok": self.error is None, "error": self.error}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data and short runs (under 3 minutes in all)")
    parser.add_argument(
        "--only", nargs="+", choices=SCENARIOS, metavar="NAME", help=f"run only these scenarios: {', '.join(SCENARIOS)}"
    )
    args = parser.parse_args(argv)
    names = [name for name in SCENARIOS if args.only is None or name in args.only]

    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="agentpress-bench-") as root:
        # As root the embedded server runs as its own system user, which must reach its data directory.
        os.chmod(root, 0o755)
        with fresh_server(Path(root)) as server:
            machine = describe_machine(server, quick=args.quick)
            print(f"AgentPress benchmarks, {'quick' if args.quick else 'full'}: {', '.join(names)}")
            print(f"{machine['cpu']} x {machine['cpus']}, {machine['memory_gib']} GiB, {machine['postgresql']}\n")
            for name in names:
                outcomes.append(run_scenario(name, server, quick=args.quick))
    total = time.perf_counter() - started

    failed = [outcome.name for outcome in outcomes if outcome.error is not None]
    summary = ", ".join(f"{o.name} {'failed' if o.error else 'ok'} ({o.seconds:.0f} s)" for o in outcomes)
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} scenarios ran in {total:.0f} s: {summary}")
    for path in write_results(machine, outcomes, total, quick=args.quick, partial=args.only is not None):
        print(f"wrote {path}")
    return 1 if failed else 0


def run_scenario(name: str, server: Server, *, quick: bool) -> Outcome:
    """Run one scenario module; a missing module or an exception fails it, and the run goes on."""
    print(f"== {name}", flush=True)
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.scenarios.{name}")
        tables: list[Table] = module.run(server, quick)
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.scenarios.{name}":
            error = f"not written yet: bench/scenarios/{name}.py does not exist"
        else:
            # A package of the bench extra, most likely: `make bench` installs it.
            error = f"{exc} (make bench installs the bench extra: pip install -e '.[dev,bench]')"
        print(f"FAILED: {error}\n", flush=True)
        return Outcome(name, time.perf_counter() - started, error=error)
    except Exception as exc:
        traceback.print_exc()
        error = f"{type(exc).__name__}: {exc}"
        print(f"FAILED: {error}\n", flush=True)
        return Outcome(name, time.perf_counter() - started, error=error)
    seconds = time.perf_counter() - started
    for table in tables:
        print(render_text(table), flush=True)
    print(f"({name}: {seconds:.0f} s)\n", flush=True)
    return Outcome(name, seconds, tables)


def describe_machine(server: Server, *, quick: bool) -> dict[str, Any]:
    with psycopg.connect(server.url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        pgvector = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": f"PostgreSQL {version[0] if version else '?'}, pgvector {pgvector[0] if pgvector else '?'}",
        "commit": _commit(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _commit() -> str | None:
    """The commit the run measured, with -dirty when the work tree had changes."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def write_results(
    machine: dict[str, Any], outcomes: list[Outcome], total: float, *, quick: bool, partial: bool
) -> list[Path]:
    """latest.json and .md for a full run of every scenario, quick.* for --quick, partial.* for --only;
    a complete run also keeps a dated copy. A quick or partial run never replaces what docs/benchmarks.md shows."""
    stem = "partial" if partial else "quick" if quick else "latest"
    document = {
        "machine": machine,
        "seconds": round(total, 1),
        "scenarios": [outcome.as_json() for outcome in outcomes],
        "tables": [table.as_json() for outcome in outcomes for table in outcome.tables],
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    paths = [RESULTS_DIR / f"{stem}.json", RESULTS_DIR / f"{stem}.md"]
    paths[0].write_text(text, encoding="utf-8")
    paths[1].write_text(render_markdown(document), encoding="utf-8")
    if not partial:
        dated = RESULTS_DIR / f"{machine['date'][:10]}{'-quick' if quick else ''}.json"
        dated.write_text(text, encoding="utf-8")
        paths.append(dated)
    if not partial and not quick and update_results_doc(document):
        paths.append(RESULTS_DOC)
    return paths


def update_results_doc(document: dict[str, Any]) -> bool:
    """Put a full run's tables (without their notes, which latest.md keeps) between docs/benchmarks.md's markers."""
    text = RESULTS_DOC.read_text(encoding="utf-8")
    start, end = text.find(RESULTS_DOC_START), text.find(RESULTS_DOC_END)
    if start < 0 or end < start:
        return False
    tables = render_markdown(document, notes=False)
    RESULTS_DOC.write_text(text[: start + len(RESULTS_DOC_START)] + "\n" + tables + text[end:], encoding="utf-8")
    return True


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def render_text(table: Table) -> str:
    """The table with aligned columns (numbers to the right), then its notes."""
    cells = [[_cell(value) for value in row] for row in table.rows]
    widths = [max([len(column), *(len(row[i]) for row in cells)]) for i, column in enumerate(table.columns)]
    numeric = [all(isinstance(row[i], int | float) for row in table.rows) for i in range(len(table.columns))]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    out = [f"{table.scenario}: {table.title}", line(table.columns), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    out += [f"  - {note}" for note in table.notes]
    return "\n".join(out) + "\n"


def render_markdown(document: dict[str, Any], *, notes: bool = True) -> str:
    """The run as Markdown: the machine it ran on, then each table under a heading of its own, with its notes."""
    machine = document["machine"]
    out = [
        f"Run of {machine['date']} ({machine['mode']}, {document['seconds']:.0f} s, commit {machine['commit']}) on "
        f"{machine['cpu']} x {machine['cpus']}, {machine['memory_gib']} GiB, {machine['os']}, "
        f"Python {machine['python']}, {machine['postgresql']}.",
        "",
    ]
    failed = [s for s in document["scenarios"] if not s["ok"]]
    for scenario in failed:
        out += [f"- **{scenario['name']} failed**: {scenario['error']}"]
    if failed:
        out.append("")
    for table in document["tables"]:
        numeric = [all(isinstance(row[i], int | float) for row in table["rows"]) for i in range(len(table["columns"]))]
        out += [f"#### {table['scenario']}: {table['title']}", ""]
        out.append("| " + " | ".join(table["columns"]) + " |")
        out.append("|" + "|".join("---:" if num else "---" for num in numeric) + "|")
        out += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in table["rows"]]
        out.append("")
        if notes:
            out += [f"- {note}" for note in table["notes"]]
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
