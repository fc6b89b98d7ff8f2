"""`agentpress serve`: the HTTP API under uvicorn."""

from __future__ import annotations

import argparse

from agentpress.settings import Settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from agentpress.web.app import create_app

    # The app logs each request itself, as JSON; uvicorn's access log would say it twice.
    uvicorn.run(
        lambda: create_app(settings),
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=False,
        log_config=None,
    )
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="default: HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: PORT or 8000")
    serve.set_defaults(run=_serve)
