"""`agentpress kb ingest`: knowledge-base chunks and their embeddings loaded from a JSONL file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agentpress.db.pools import resolve_database_url
from agentpress.settings import Settings


def _kb(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from agentpress.services.ingest import LineError, ingest_lines

    path = Path(args.file)
    if not path.is_file():
        print(f"agentpress: {path}: no such file", file=sys.stderr)
        return 2
    try:
        with path.open("rb") as lines:
            summary = asyncio.run(ingest_lines(resolve_database_url(settings), lines, total_bytes=path.stat().st_size))
    except LineError as exc:
        print(f"agentpress: {path}: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kb = commands.add_parser("kb", help="knowledge bases: load chunks and their embeddings")
    kb_actions = kb.add_subparsers(dest="action", required=True)
    ingest = kb_actions.add_parser(
        "ingest",
        help="replace the chunks of every source in a JSONL file (one transaction per source)",
        description="Each line: {knowledge_base_id, source_kind, source_id, chunk_index, content, embedding, "
        "metadata?}; a source's lines must be consecutive. An invalid line stops the load (exit 2); the sources "
        "before it stay written, nothing of its own source is.",
    )
    ingest.add_argument("file", help="a .jsonl file")
    kb.set_defaults(run=_kb)
