"""POST /config/import under hostile archives: limits for zip as for tar, the parse in a child process off the
event loop, and slow uploads that hold no pool connection."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import PASSWORD, bearer, make_platform_admin, register, serving
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services import config_import
from agentpress.services.desktop import layout
from agentpress.services.desktop.layout import LayoutError, LimitError, build_archive, read_archive, read_directory
from agentpress.settings import Settings
from agentpress.web.app import create_app
from agentpress.web.lifespan import resources

API = "/api/v1"
IMPORT = f"{API}/config/import"
SAMPLE = Path(__file__).parent.parent.parent / "examples" / "desktop"
READER = config_import.__name__.rsplit(".", 1)[0] + ".archive_reader"


def sample_files() -> dict[str, bytes]:
    return read_directory(SAMPLE)[0]


def post_import(client: TestClient[Litestar], token: str, archive: bytes, *, dry_run: bool = True) -> Any:
    headers = {**bearer(token), "Content-Type": "application/zip"}
    return client.post(IMPORT, content=archive, headers=headers, params={"dry_run": dry_run})


def heavy_channels() -> bytes:
    """A channels.yaml just under the file limit that the pure-Python parser takes a second or more over, and
    that imports: one channel with 40,000 settings."""
    settings = "".join(f"      k{index}: v{index}\n" for index in range(40_000))
    content = f"channels:\n  - name: heavy\n    kind: web\n    settings:\n{settings}".encode()
    assert len(content) < layout.MAX_FILE_BYTES
    return content


def assert_up(client: TestClient[Litestar], token: str) -> None:
    """The service still answers, the import route too."""
    assert client.get("/health").status_code == 200
    response = post_import(client, token, build_archive(sample_files(), "zip"))
    assert response.status_code == 200, response.text


def test_a_small_zip_holding_a_2_mb_yaml_list_is_413_naming_the_file(
    client: TestClient[Litestar], admin: dict[str, Any]
) -> None:
    archive = build_archive({**sample_files(), "models.yaml": b"- 1\n" * 500_000}, "zip")
    assert len(archive) < 20_000
    response = post_import(client, admin["token"], archive)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "too_large"
    assert response.json()["errors"] == [{"field": "models.yaml", "message": "is larger than 1 MiB"}]
    assert_up(client, admin["token"])


def test_a_zip_expanding_past_the_total_cap_is_413_naming_the_file_where_it_did(
    client: TestClient[Litestar], admin: dict[str, Any]
) -> None:
    # Each file is under the file limit; together they are past the archive's, which no header says.
    under = b"#" * (layout.MAX_FILE_BYTES - 1)
    files = {f"agents/a{index:02}/config.yaml": under for index in range(layout.MAX_ARCHIVE_BYTES // len(under) + 1)}
    archive = build_archive(files, "zip")
    assert len(archive) < 200_000
    response = post_import(client, admin["token"], archive)
    assert response.status_code == 413, response.text
    last = f"agents/a{len(files) - 1:02}/config.yaml"
    assert response.json()["errors"] == [
        {"field": last, "message": f"expands to more than {layout.MAX_ARCHIVE_BYTES >> 20} MiB"}
    ]


def test_100k_nested_brackets_are_400_and_the_service_stays_up(
    client: TestClient[Litestar], admin: dict[str, Any]
) -> None:
    archive = build_archive({**sample_files(), "models.yaml": b"[" * 100_000}, "zip")
    response = post_import(client, admin["token"], archive)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "models.yaml"
    assert_up(client, admin["token"])


def test_a_reader_that_dies_or_overruns_its_time_is_4xx_naming_the_archive(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = build_archive({**sample_files(), "channels.yaml": heavy_channels()}, "zip")
    with TestClient(app=create_app(make_settings(config_import_timeout_seconds=0.2, signup_org=None))) as client:
        token = register(client, "admin@example.com")["token"]
        slow = post_import(client, token, archive)
        assert slow.status_code == 413, slow.text
        assert slow.json()["errors"] == [{"field": "archive", "message": "took longer than 0.2 s to read"}]
        # Too little memory for the interpreter to start: the child dies, the service does not.
        monkeypatch.setattr(config_import, "CHILD_MEMORY_BYTES", 8 << 20)
        crashed = post_import(client, token, build_archive(sample_files(), "zip"))
        assert crashed.status_code in (400, 413), crashed.text
        assert crashed.json()["errors"][0]["field"] == "archive"
        monkeypatch.undo()
        assert client.get("/health").status_code == 200
        # A normal import goes through again, given a normal limit: 0.2 s is about what starting the reader
        # takes on a busy machine.
        found = resources(client.app.state)
        found.settings = found.settings.model_copy(update={"config_import_timeout_seconds": 20.0})
        assert post_import(client, token, build_archive(sample_files(), "zip")).status_code == 200


# The limits, on the reader itself.


def followed_by_a_corrupt_member(first: bytes) -> bytes:
    """A zip of models.yaml (`first`), then a channels.yaml whose bytes no longer match its checksum."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("models.yaml", first, zipfile.ZIP_DEFLATED)
        archive.writestr("channels.yaml", b"channels: [MARKER]\n", zipfile.ZIP_STORED)
    return raw.getvalue().replace(b"MARKER", b"MARKEX", 1)


def test_reading_stops_at_the_first_file_over_its_limit() -> None:
    with pytest.raises(LayoutError) as unreadable:
        read_archive(followed_by_a_corrupt_member(b"models: []\n"))
    assert "archive: is not a readable zip or tar archive" in str(unreadable.value)
    # Past the oversized file nothing is read, so the corrupt member after it goes unnoticed.
    with pytest.raises(LimitError) as refused:
        read_archive(followed_by_a_corrupt_member(b"#" * (layout.MAX_FILE_BYTES + 1)))
    assert str(refused.value) == "models.yaml: is larger than 1 MiB"


def test_the_files_of_the_layout_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "MAX_LAYOUT_FILES", 3)
    files = {f"agents/a{index}/config.yaml": b"name: A\n" for index in range(4)}
    with pytest.raises(LimitError) as refused:
        read_archive(build_archive({**files, "sessions/a.jsonl": b"{}", "README.md": b"hi"}, "tar"))
    assert str(refused.value) == "archive: holds more than 3 files of the layout"
    assert len(read_archive(build_archive(dict(list(files.items())[:3]), "zip"))[0]) == 3


def test_zip_and_tar_count_the_same_bytes_against_one_total(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "MAX_ARCHIVE_BYTES", 1 << 20)
    half = b"#" * (600 << 10)
    files = {"agents/a/config.yaml": half, "agents/b/config.yaml": half}
    for archive_format in ("zip", "tar"):
        with pytest.raises(LimitError) as refused:
            read_archive(build_archive(files, archive_format))  # type: ignore[arg-type]
        assert str(refused.value) == "agents/b/config.yaml: expands to more than 1 MiB", archive_format
        assert len(read_archive(build_archive({"agents/a/config.yaml": half}, archive_format))[0]) == 1  # type: ignore[arg-type]


# Off the event loop, and no pool connection while a body arrives: against the service on a real socket.


def reader_children() -> list[int]:
    """Pids of this process's children that run the archive reader."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and READER.encode() in command:
            found.append(int(entry))
    return found


@pytest.fixture
def live(make_settings: Callable[..., Settings], database_url: str) -> Iterator[tuple[str, str]]:
    """The service on a loopback port with the default pool size, and its owner's token."""
    with serving(create_app(make_settings(pool_max_size=10, pool_min_size=2))) as base:
        registered = httpx.post(
            f"{base}{API}/auth/register",
            json={"email": "admin@example.com", "password": PASSWORD},
        )
        assert registered.status_code == 201, registered.text
        yield base, make_platform_admin(database_url, registered.json())["token"]


def test_health_answers_while_an_import_is_being_parsed_in_a_child_process(live: tuple[str, str]) -> None:
    base, token = live
    archive = build_archive({**sample_files(), "channels.yaml": heavy_channels()}, "zip")
    events: list[str] = []
    imported: list[httpx.Response] = []

    def send() -> None:
        headers = {**bearer(token), "Content-Type": "application/zip"}
        imported.append(httpx.post(f"{base}{IMPORT}?dry_run=true", content=archive, headers=headers, timeout=60))
        events.append("import")

    sender = threading.Thread(target=send)
    sender.start()
    # The parse is under way, in a child process of this one (the service runs in this process's thread).
    polls = 0
    while not (children := reader_children()):
        polls += 1
        assert polls < 5_000 and sender.is_alive(), "no archive reader was started"
        time.sleep(0.002)
    assert os.getpid() not in children
    health = httpx.get(f"{base}/health", timeout=60)
    events.append("health")
    sender.join()
    assert health.status_code == 200
    assert imported[0].status_code == 200, imported[0].text
    assert imported[0].json()["dry_run"] is True
    assert events == ["health", "import"]


def test_a_dozen_trickling_imports_leave_the_pool_to_other_requests(live: tuple[str, str]) -> None:
    base, token = live
    host, port = base.removeprefix("http://").split(":")
    archive = build_archive(sample_files(), "zip")
    head = (
        f"POST {IMPORT}?dry_run=true HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/zip\r\nContent-Length: {len(archive)}\r\nConnection: close\r\n\r\n"
    ).encode()
    steps = 20
    piece = -(-len(archive) // steps)
    clients = [socket.create_connection((host, int(port)), timeout=60) for _ in range(12)]
    stop = threading.Event()

    def trickle(start: int, end: int) -> None:
        for step in range(start, end):
            for sock in clients:
                sock.sendall(archive[step * piece : (step + 1) * piece])
            stop.wait(0.1)

    for sock in clients:
        sock.sendall(head)
    trickle(0, steps // 2)
    # Twelve bodies half sent, more than the pool's ten connections: reads that need the database go through.
    with httpx.Client(base_url=base, headers=bearer(token), timeout=60) as other:
        answers = [other.get(path).status_code for _ in range(5) for path in (f"{API}/auth/me", f"{API}/agents")]
    assert answers == [200] * 10
    trickle(steps // 2, steps)
    statuses = []
    for sock in clients:
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        sock.close()
        statuses.append(received.split(b" ", 2)[1])
    assert statuses == [b"200"] * 12
