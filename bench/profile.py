"""Sum py-spy's folded stacks (BENCH_PROFILE) by layer: where the service's CPU per request goes, row by row.

    python -m bench.profile <directory> [--top N]

Each sample goes to the innermost frame of a layer this names (so a stdlib call made by psycopg counts as
psycopg's); idle samples (a loop waiting in epoll) are left out, as py-spy's --nonblocking keeps them.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# Layer by a path fragment of the frame's file, innermost first wins; checked in this order.
LAYERS = (
    ("psycopg", "psycopg and the pool"),
    ("litestar", "Litestar"),
    ("uvicorn", "uvicorn"),
    ("httptools", "uvicorn"),
    ("granian", "granian"),
    ("pydantic", "pydantic"),
    ("msgspec", "msgspec"),
    ("redis", "Redis client"),
    ("prometheus_client", "metrics (prometheus-client)"),
    ("agentpress", "the service's own code"),
    ("logging", "logging"),
    ("asyncio", "the event loop"),
    ("uvloop", "the event loop"),
)
# Where a process waits for work: not CPU spent on a request.
IDLE = re.compile(r"\b(select|poll|epoll_wait|_run_once|run_forever) \((selectors|asyncio/base_events|uvloop)")
_FRAME_FILE = re.compile(r"\(([^()]*?):\d+\)$")


def layer_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        match = _FRAME_FILE.search(frame)
        path = match.group(1) if match else frame
        for fragment, layer in LAYERS:
            if fragment in path:
                return layer
    return "other"


def summarize(path: Path, top: int) -> str:
    layers: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    idle = 0
    for line in path.read_text().splitlines():
        folded, _, count_text = line.rpartition(" ")
        if not folded or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = folded.split(";")
        if IDLE.search(stack[-1]):
            idle += count
            continue
        layers[layer_of(stack)] += count
        leaves[stack[-1]] += count
    busy = sum(layers.values())
    lines = [f"{path.name}: {busy} busy samples ({idle} idle left out)"]
    lines += [f"  {100 * n / busy:5.1f}%  {layer}" for layer, n in layers.most_common()] if busy else []
    lines.append(f"  top {top} functions by own samples:")
    lines += [f"  {100 * n / max(busy, 1):5.1f}%  {leaf}" for leaf, n in leaves.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for path in sorted(args.directory.glob("*.folded")):
        print(summarize(path, args.top), end="\n\n")


if __name__ == "__main__":
    main()
