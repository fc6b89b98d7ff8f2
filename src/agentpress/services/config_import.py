"""Reading an uploaded config archive off the event loop: in a child process with a time and memory limit, a
few at a time; the tree comes back as JSON and is rebuilt here on a worker thread."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
import weakref
from typing import Any

import anyio

from agentpress.services.desktop.layout import (
    AgentConfig,
    ChannelsFile,
    Document,
    FieldPath,
    LayoutError,
    LimitError,
    ModelsFile,
    Problem,
    ProviderConfig,
    Tree,
)
from agentpress.web.errors import ApiError

log = logging.getLogger("agentpress.config_import")

# The child's address space: its interpreter, PyYAML and pydantic take about 40 MiB, and a 1 MiB YAML file
# about 200 MiB as Python objects; past this the archive is refused (413), the service unharmed.
CHILD_MEMORY_BYTES = 768 << 20
# Archives read at once by one process (each a child on a core); more wait, up to MAX_WAITING, and past that
# the import is 503 with Retry-After rather than memory held by a queue no one bounds.
MAX_READERS = os.cpu_count() or 1
MAX_WAITING = 16
_MODULE = "agentpress.services.archive_reader"


class _Gate:
    """MAX_READERS at once and MAX_WAITING in line, for one event loop."""

    def __init__(self) -> None:
        self.semaphore = asyncio.Semaphore(MAX_READERS)
        self.waiting = 0


# One per event loop: an asyncio primitive belongs to the loop that first waits on it, and tests and
# benchmarks run several apps, each on its own loop.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()


def _gate() -> _Gate:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = _Gate()
    return gate


def _archive_problem(message: str, *, limit: bool = False) -> LayoutError:
    problems = [Problem("archive", None, None, message)]
    return LimitError(problems) if limit else LayoutError(problems)


async def read_uploaded_tree(data: bytes, *, time_limit: float) -> Tree:
    """The checked tree of an uploaded archive. LayoutError (LimitError over a limit, a time limit or a memory
    limit) when it cannot be imported; ApiError 503 when too many archives are waiting to be read."""
    gate = _gate()
    if gate.semaphore.locked() and gate.waiting >= MAX_WAITING:
        raise ApiError(503, "busy", "too many config imports at once: try again", headers={"Retry-After": "5"})
    gate.waiting += 1
    try:
        await gate.semaphore.acquire()
    finally:
        gate.waiting -= 1
    try:
        answer = await _run_child(data, time_limit=time_limit)
    finally:
        gate.semaphore.release()
    return await anyio.to_thread.run_sync(_answer_tree, answer)


async def _run_child(data: bytes, *, time_limit: float) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        # Isolated (no PYTHON* variables, no user site) and without the service's environment: the child
        # handles hostile input and needs none of the service's secrets.
        "-I",
        "-B",
        "-m",
        _MODULE,
        str(CHILD_MEMORY_BYTES),
        str(math.ceil(time_limit) + 1),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={},
    )
    try:
        async with asyncio.timeout(time_limit):
            out, err = await process.communicate(data)
    except TimeoutError:
        raise _archive_problem(f"took longer than {time_limit:g} s to read", limit=True) from None
    finally:
        # Killed on a timeout, and when the request is cancelled (the client went away) too.
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        log.warning(
            "config archive reader exited with %s: %s", process.returncode, err[-2000:].decode(errors="replace")
        )
        raise _archive_problem("could not be read: its reader stopped (a crash or a resource limit)")
    try:
        answer: dict[str, Any] = json.loads(out)
    except ValueError:
        raise _archive_problem("could not be read: its reader gave no answer") from None
    return answer


def _answer_tree(answer: dict[str, Any]) -> Tree:
    """The child's answer as a Tree (or its LayoutError), validated again: the child ran on hostile input."""
    try:
        if answer.get("memory"):
            raise _archive_problem(f"needs more than {CHILD_MEMORY_BYTES >> 20} MiB of memory to read", limit=True)
        if "problems" in answer:
            problems = [Problem(*problem) for problem in answer["problems"]]
            raise (LimitError if answer.get("limit") else LayoutError)(problems)
        return tree_from_json(answer["tree"])
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("config archive reader answered something unexpected: %r", exc)
        raise _archive_problem("could not be read: its reader gave no answer") from None


def _document(schema: Any, data: dict[str, Any]) -> Document[Any]:
    lines: dict[FieldPath, int] = {tuple(path): int(line) for path, line in data["lines"]}
    return Document(str(data["file"]), schema.model_validate(data["value"]), lines, str(data["key"]))


def tree_from_json(data: dict[str, Any]) -> Tree:
    """The Tree the child's `tree_json` described."""
    default = data["default_model"]
    return Tree(
        agents=[_document(AgentConfig, document) for document in data["agents"]],
        providers=[_document(ProviderConfig, document) for document in data["providers"]],
        models=None if data["models"] is None else _document(ModelsFile, data["models"]),
        channels=None if data["channels"] is None else _document(ChannelsFile, data["channels"]),
        default_model=None if default is None else (str(default[0]), str(default[1])),
        skipped=[str(path) for path in data["skipped"]],
    )
