"""A stand-in OpenAI-compatible embeddings API for the tests: deterministic 3072-d vectors, told to fail at will."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSIONS = 3072
MODEL = "stand-in-embedding-3-large"
API_KEY = "stand-in-api-key"


def embed(text: str) -> list[float]:
    """A bag of words: each word adds 1 to a dimension picked by its hash, then the vector is normalised.
    Texts that share words are near each other, so a query finds the chunks holding its words."""
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        vector[int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % DIMENSIONS] += 1.0
    if not any(vector):
        vector[0] = 1.0
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector]


@dataclass
class StandInEmbeddings:
    """What it was asked, and how it should misbehave."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    # Set to answer every request with this status, as a provider having an outage does, and this body.
    outage_status: int | None = None
    outage_body: Any = field(default_factory=lambda: {"error": {"message": "the stand-in is down"}})
    # Set to take each request and not answer until `release` is set (or the stand-in stops): a provider
    # that hangs. `hanging` counts the requests held so far.
    hang: bool = False
    hanging: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    # Set to answer with vectors of this many dimensions instead of 3072.
    wrong_dimensions: int | None = None
    # Set to put a NaN into every vector.
    answer_nan: bool = False
    base_url: str = ""

    def settings(self, **overrides: object) -> dict[str, object]:
        """The service's settings that point it here."""
        return {
            "embeddings_url": f"{self.base_url}/v1",
            "embeddings_model": MODEL,
            "embeddings_api_key": API_KEY,
            "embeddings_poll_seconds": 0.1,
            **overrides,
        }

    def inputs(self) -> list[str]:
        return [text for request in self.requests for text in request.get("input", [])]

    def answer(self, body: Any) -> tuple[int, Any]:
        if self.outage_status is not None:
            return self.outage_status, self.outage_body
        if not isinstance(body, dict) or not isinstance(body.get("input"), list) or body.get("model") != MODEL:
            return 400, {"error": {"message": "bad request"}}
        if body.get("dimensions") != DIMENSIONS:
            return 400, {"error": {"message": "dimensions must be 3072"}}
        data = []
        for index, text in enumerate(body["input"]):
            vector = embed(text)
            if self.wrong_dimensions is not None:
                vector = (vector * (self.wrong_dimensions // DIMENSIONS + 1))[: self.wrong_dimensions]
            if self.answer_nan:
                vector[7] = math.nan
            data.append({"object": "embedding", "index": index, "embedding": vector})
        # Shuffled order, as the index says where each belongs.
        return 200, {"object": "list", "model": MODEL, "data": data[::-1]}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        stand_in = self.server.stand_in
        with self.server.lock:
            hang = stand_in.hang
            if hang:
                stand_in.hanging += 1
        if hang:
            # Bounded, so that a test that forgets to release cannot leave the thread behind for ever.
            stand_in.release.wait(timeout=60)
        with self.server.lock:
            if self.path != "/v1/embeddings":
                status, payload = 404, {"error": {"message": "not found"}}
            else:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                stand_in.requests.append(body if isinstance(body, dict) else {})
                stand_in.authorizations.append(self.headers.get("Authorization"))
                status, payload = stand_in.answer(body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stand_in: StandInEmbeddings) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stand_in = stand_in
        self.lock = threading.Lock()


class RunningEmbeddings:
    """Serves a StandInEmbeddings on 127.0.0.1 on a free port until stopped."""

    def __init__(self) -> None:
        self.stand_in = StandInEmbeddings()
        self._server = _Server(self.stand_in)
        host, port = self._server.server_address[:2]
        self.stand_in.base_url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="stand-in-embeddings", daemon=True)

    def __enter__(self) -> StandInEmbeddings:
        self._thread.start()
        return self.stand_in

    def __exit__(self, *_: object) -> None:
        self.stand_in.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
