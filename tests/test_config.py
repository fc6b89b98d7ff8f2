"""Configuration: read from the environment and .env; a bad value stops startup naming its variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentpress.settings as settings_module
from agentpress.settings import ConfigError, load_settings


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "ANALYTICS_DATABASE_URL", "PORT", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.database_url, settings.redis_url, settings.port) == (None, None, 8000)
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("REDIS_URL", "")
    settings = load_settings()
    assert (settings.port, settings.log_level, settings.redis_url) == (9000, "DEBUG", None)


def test_password_hash_threads_share_the_cores_among_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # serve passes WEB_CONCURRENCY on to its workers: N of them must not each run a hash per core.
    monkeypatch.setattr(settings_module, "available_cores", lambda: 8)
    monkeypatch.delenv("PASSWORD_HASH_CONCURRENCY", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert load_settings().password_hash_concurrency == 8
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert load_settings().password_hash_concurrency == 2
    monkeypatch.setenv("WEB_CONCURRENCY", "16")
    assert load_settings().password_hash_concurrency == 1
    monkeypatch.setenv("PASSWORD_HASH_CONCURRENCY", "3")
    assert load_settings().password_hash_concurrency == 3


def test_behind_pgbouncer_the_leader_needs_a_direct_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # A session advisory lock through a transaction-mode pooler stays on whichever server connection took it.
    monkeypatch.setenv("DATABASE_POOLER", "pgbouncer")
    monkeypatch.delenv("DIRECT_DATABASE_URL", raising=False)
    monkeypatch.delenv("ANALYTICS_REFRESH_ENABLED", raising=False)
    with pytest.raises(ConfigError, match="DIRECT_DATABASE_URL"):
        load_settings()
    monkeypatch.setenv("DIRECT_DATABASE_URL", "postgresql://db.internal/agentpress")
    assert load_settings().direct_database_url == "postgresql://db.internal/agentpress"
    monkeypatch.delenv("DIRECT_DATABASE_URL")
    monkeypatch.setenv("ANALYTICS_REFRESH_ENABLED", "false")
    assert load_settings().direct_database_url is None


def test_the_public_base_url_loses_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://agents.example.com/")
    assert load_settings().public_base_url == "https://agents.example.com"


def test_dotenv_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POOL_MAX_SIZE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("POOL_MAX_SIZE=17\n")
    assert load_settings().pool_max_size == 17


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://localhost/db"),
        ("REDIS_URL", "localhost:6379"),
        ("POOL_TIMEOUT", "-1"),
        ("LOG_LEVEL", "loud"),
        ("AUTO_MIGRATE", "maybe"),
        ("PUBLIC_BASE_URL", "example.com"),
        ("APP_SECRET_KEY", "too-short"),
        ("PASSWORD_HASH_TIME_COST", "0"),
        ("PASSWORD_HASH_PARALLELISM", "9000"),
    ],
)
def test_an_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=rf"invalid configuration: {variable}: "):
        load_settings()


def test_the_cli_refuses_to_start_on_an_invalid_value() -> None:
    env = {**os.environ, "PORT": "eighty"}
    result = subprocess.run(
        [sys.executable, "-m", "agentpress.cli", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "PORT: " in result.stderr
    assert "Traceback" not in result.stderr


def test_argon2_needs_8_kib_of_memory_for_each_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_KIB", "64")
    monkeypatch.setenv("PASSWORD_HASH_PARALLELISM", "16")
    with pytest.raises(ConfigError, match=r"PASSWORD_HASH_PARALLELISM: .*at least 8 per lane"):
        load_settings()


def test_beside_a_database_url_redis_url_is_required_or_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/agentpress")
    monkeypatch.delenv("REDIS_URL", raising=False)
    # Each host would otherwise run a Redis of its own: a revoked session would stay cached on the others.
    with pytest.raises(ConfigError, match=r"REDIS_URL: .*required when DATABASE_URL is set.*revoked") as refused:
        load_settings()
    assert "PASSWORD_HASH_CONCURRENCY" not in str(refused.value)  # only the setting at fault is named
    monkeypatch.setenv("REDIS_URL", "")
    with pytest.raises(ConfigError, match=r"REDIS_URL: "):
        load_settings()
    monkeypatch.setenv("REDIS_URL", "OFF")
    assert load_settings().redis_url == "off"
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    assert load_settings().redis_url == "redis://cache.internal:6379/0"
    # Without DATABASE_URL, unset means the local Redis beside the embedded database.
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("REDIS_URL")
    assert load_settings().redis_url is None
