"""The child process that reads an uploaded config archive: archive bytes on stdin, the checked tree as JSON on stdout.

Run as `python -m agentpress.services.archive_reader MEMORY_BYTES CPU_SECONDS`. Whatever the archive does to
the parsers here (a decompression bomb, YAML that takes minutes, a C-level crash) stays in this process:
the parent kills it at its time limit and answers the caller 400 or 413. The output is plain JSON, never a
pickle, so the parent trusts nothing from here but data it validates again.
"""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

from agentpress.services.desktop.layout import (
    Document,
    LayoutError,
    LimitError,
    Problem,
    Tree,
    parse_tree,
    read_archive,
)

# Problems sent back: a hostile file can have hundreds of thousands, and the caller needs the first few.
MAX_PROBLEMS = 100


def document_json(document: Document[Any]) -> dict[str, Any]:
    return {
        "file": document.file,
        # exclude_unset: the parent's model then has the same fields set as the file had.
        "value": document.value.model_dump(mode="json", exclude_unset=True),
        "lines": [[list(path), line] for path, line in document.lines.items()],
        "key": document.key,
    }


def tree_json(tree: Tree) -> dict[str, Any]:
    return {
        "agents": [document_json(document) for document in tree.agents],
        "providers": [document_json(document) for document in tree.providers],
        "models": None if tree.models is None else document_json(tree.models),
        "channels": None if tree.channels is None else document_json(tree.channels),
        "default_model": None if tree.default_model is None else list(tree.default_model),
        "skipped": tree.skipped,
    }


def problems_json(exc: LayoutError) -> dict[str, Any]:
    problems = exc.problems[:MAX_PROBLEMS]
    if len(exc.problems) > MAX_PROBLEMS:
        problems.append(Problem("archive", None, None, f"and {len(exc.problems) - MAX_PROBLEMS} more problems"))
    return {
        "problems": [[problem.file, problem.line, problem.field, problem.message] for problem in problems],
        "limit": isinstance(exc, LimitError),
    }


def read(data: bytes) -> dict[str, Any]:
    """The answer for one archive: {"tree": ...}, or {"problems": [...], "limit": bool}."""
    try:
        files, skipped = read_archive(data)
        return {"tree": tree_json(parse_tree(files, skipped))}
    except LayoutError as exc:
        return problems_json(exc)


def main(argv: list[str]) -> int:
    memory, cpu_seconds = int(argv[0]), int(argv[1])
    # Address space, not resident memory: what the parsers can allocate is bounded before they run; CPU
    # time too, in case the parent is gone and cannot kill this process at its time limit.
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    data = sys.stdin.buffer.read()
    try:
        answer = read(data)
    except MemoryError:
        answer = {"memory": True}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
