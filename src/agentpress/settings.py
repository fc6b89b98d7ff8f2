"""Service configuration, read once from environment variables and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# REDIS_URL=off: no caching, said explicitly (unset means the local Redis, which only the embedded database allows).
REDIS_OFF = "off"


class ConfigError(Exception):
    """A missing or invalid setting; the message names the environment variable."""


_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Rate:
    """A rate limit: at most `count` in each window of `seconds`, written `10/minute` or `5/15minutes`."""

    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}seconds"


def _parse_rate(value: object) -> object:
    if not isinstance(value, str):
        return value
    match = _RATE.match(value)
    if match is None:
        raise ValueError("must read like 10/minute or 5/15minutes (second, minute, hour or day)")
    count, multiple, period = int(match.group(1)), int(match.group(2) or 1), match.group(3)
    if count < 1 or multiple < 1:
        raise ValueError("needs a count and a period of at least 1")
    return Rate(count, multiple * _PERIODS[period])


# NoDecode: the environment's text goes to the validator as it is, not through JSON.
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(value: object) -> object:
    if isinstance(value, str):
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())
    return value


RateSetting = Annotated[Rate, NoDecode, BeforeValidator(_parse_rate)]


def available_cores() -> int:
    """The cores this process may run on (a cpuset or taskset may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _hash_threads(data: dict[str, Any]) -> int:
    """The cores divided among the processes serving (at least one thread each)."""
    return max(1, available_cores() // (data.get("web_concurrency") or 1))


class Settings(BaseSettings):
    """Every setting is an environment variable of the same name in upper case."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)

    # Unset: an embedded PostgreSQL 18 with pgvector is started with its data in DATA_DIR/postgres.
    database_url: str | None = None
    # Unset: same as DATABASE_URL. Point it at a read replica to move reporting off the primary.
    analytics_database_url: str | None = None
    # Unset: with the embedded PostgreSQL, a local Redis on a Unix socket in DATA_DIR/redis (db/embedded_redis.py);
    # with DATABASE_URL set it is required. "off": caching is off.
    redis_url: str | None = Field(default=None, validate_default=True)
    # A Redis answer slower than this is a miss: the database answers instead.
    redis_timeout_ms: int = Field(default=50, ge=1, le=10_000)
    data_dir: Path = Path(".data")

    pool_min_size: int = Field(default=2, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    # Seconds a request waits for a free connection before it gets 503.
    pool_timeout: float = Field(default=5.0, gt=0)
    analytics_pool_min_size: int = Field(default=0, ge=0)
    analytics_pool_max_size: int = Field(default=4, ge=1)
    statement_timeout_ms: int = Field(default=5_000, ge=0)
    idle_in_transaction_session_timeout_ms: int = Field(default=10_000, ge=0)
    # Reports are long-running by nature; the analytics pool gets its own, longer limit.
    analytics_statement_timeout_ms: int = Field(default=30_000, ge=0)
    # "pgbouncer": DATABASE_URL and ANALYTICS_DATABASE_URL are PgBouncer database aliases in transaction mode.
    # The pools then send no startup `options` (PgBouncer refuses them), each alias sets its pool's limits in
    # its connect_query, and each new connection checks them against the settings above (a warning if not).
    database_pooler: Literal["none", "pgbouncer"] = "none"
    # psycopg prepares a statement from its fifth run on a connection. Off for PgBouncer before 1.21 (or with
    # max_prepared_statements = 0), where the next transaction may run on a server that never saw the PREPARE.
    database_prepare: bool = True
    # The longest range, in days, an analytics report covers.
    analytics_max_range_days: int = Field(default=731, ge=1)
    # The loop that rolls up each org's closed days for the reports; switch it off where
    # `agentpress analytics refresh` runs from cron instead (reports stay right without it, only slower).
    analytics_refresh_enabled: bool = True
    # How often the loop looks for orgs with a newly closed day.
    analytics_refresh_seconds: float = Field(default=300.0, gt=0)

    # Encrypts secrets at rest (provider tokens and API keys, PKCE verifiers, mail bodies).
    # Unset: a random key kept in DATA_DIR/app_secret_key.
    app_secret_key: SecretStr | None = None
    # Key rotation: the keys APP_SECRET_KEY replaced, comma-separated, newest first. They still decrypt
    # (nothing encrypts with them) until `agentpress secrets rotate` has re-encrypted everything under
    # APP_SECRET_KEY; then remove them.
    app_previous_secret_keys: SecretStr | None = None
    # Where links in mail point, and the base of OAuth redirect URIs.
    public_base_url: str = "http://127.0.0.1:8000"
    default_user_role: Literal["user", "guest"] = "user"
    # Unset (the default): each new user gets an org of their own. The slug of an existing org that every
    # new user joins instead, as a member: for an install used by one team.
    signup_org: str | None = None
    # Read once at startup: when no user has this email, one is created as a platform admin with this
    # password (for deployments that cannot run `agentpress users create --admin`). Both or neither.
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: SecretStr | None = Field(default=None, validate_default=True)
    password_min_length: int = Field(default=8, ge=1, le=256)
    # argon2id's cost for password hashes: RFC 9106's low-memory profile (3 passes over 64 MiB, 4 lanes)
    # by default, about 0.1 s of CPU a hash. A hash made with other costs is redone at its user's next
    # sign-in, so raising them takes effect as people sign in.
    password_hash_time_cost: int = Field(default=3, ge=1, le=100)
    password_hash_memory_kib: int = Field(default=65_536, ge=8, le=4_194_304)
    password_hash_parallelism: int = Field(default=4, ge=1, le=64)
    session_ttl_hours: int = Field(default=24 * 30, ge=1)
    # A session unused this long ends before its absolute expiry (last use is recorded at most once a minute).
    session_idle_timeout_hours: int = Field(default=24 * 7, ge=1)
    # How long Redis may answer for a verified session, API key or org membership (0: always ask PostgreSQL).
    # Every change to them invalidates the entry when it commits; this bounds what an undelivered
    # invalidation can leave behind (web/cache.py AuthCache).
    session_cache_seconds: int = Field(default=60, ge=0, le=3600)
    # How long a value read from Redis (a session, a thread, a first page) is also kept in each process's memory, so
    # that the next read of it sends nothing (0: every read asks Redis). Dropped at once when Redis announces a
    # change of its key (web/local_cache.py); kept only while that announcement channel is known to be alive.
    local_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    # Unset: mail is logged instead of sent. smtp://user:password@host:port or smtps://...
    smtp_url: str | None = None
    # Mail goes out only over TLS (smtps://, or STARTTLS, which the server must offer); true allows
    # plaintext SMTP, for a relay on this host or its private network.
    smtp_allow_plaintext: bool = False
    # With SMTP_URL unset, mail is logged with its links redacted (they sign in, reset passwords); true
    # shows them, for development (`make run` sets it), where the log is the only inbox.
    mail_log_links: bool = False
    mail_from: str = "AgentPress <no-reply@agentpress.local>"
    # How often the outbox is checked for mail to send.
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    # How often queued password reset requests are looked for: each is worked on (account lookup, token,
    # mail) off the request that queued it, so that request is the same for any address.
    password_reset_poll_seconds: float = Field(default=1.0, gt=0)

    # Unset: the service embeds nothing itself (clients send their chunks). The base URL of an
    # OpenAI-compatible API (https://api.openai.com/v1): POST {EMBEDDINGS_URL}/embeddings.
    embeddings_url: str | None = None
    # Required with EMBEDDINGS_URL: the model asked for 3072-dimensional embeddings.
    embeddings_model: str | None = Field(default=None, validate_default=True)
    # Sent as `Authorization: Bearer ...` when set.
    embeddings_api_key: SecretStr | None = None
    # How often the embedding worker looks for pending freeform texts and tables.
    embeddings_poll_seconds: float = Field(default=2.0, gt=0)

    # The loop that turns due schedules into tasks; switch it off where `agentpress scheduler` runs
    # instead (running both is safe: two schedulers never fire an occurrence twice).
    scheduler_enabled: bool = True
    # How often the scheduler looks for due schedules.
    scheduler_poll_seconds: float = Field(default=5.0, gt=0)

    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"
    github_api_url: str = "https://api.github.com"
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"

    # Rate limits (count/period) on the routes anyone may call, per client IP and per target account or
    # address: over a limit is 429 with Retry-After. Counted in Redis unless REDIS_URL is off (shared by every
    # process and host), else, and while Redis is down, by each process for itself.
    rate_limit_login_per_ip: RateSetting = Rate(60, 60)
    # Failed sign-ins: per account from one IP, and (higher, so that nobody can lock a victim out
    # cheaply from a few addresses) per account from anywhere.
    rate_limit_failed_login_per_account_ip: RateSetting = Rate(10, 15 * 60)
    rate_limit_failed_login_per_account: RateSetting = Rate(100, 15 * 60)
    rate_limit_register_per_ip: RateSetting = Rate(20, 3600)
    rate_limit_password_reset_per_ip: RateSetting = Rate(20, 3600)
    rate_limit_password_reset_confirm_per_ip: RateSetting = Rate(30, 3600)
    rate_limit_oauth_start_per_ip: RateSetting = Rate(30, 60)
    rate_limit_invitation_accept_per_ip: RateSetting = Rate(30, 3600)
    # Mail to one address (reset links, invitations), whoever asks for it.
    rate_limit_mail_per_recipient: RateSetting = Rate(3, 3600)
    # Email verification: verification mails a signed-in user asks to be sent again (besides the mail
    # limit above), and verification links tried from one address.
    rate_limit_email_verification_resend_per_user: RateSetting = Rate(5, 3600)
    rate_limit_email_verification_confirm_per_ip: RateSetting = Rate(30, 3600)
    # Invitations of one org that are neither accepted, revoked nor expired.
    max_pending_invitations_per_org: int = Field(default=100, ge=1)
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed for the client IP.
    # Empty: the client is the socket's peer.
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode, BeforeValidator(_networks)] = ()

    # The largest request body, in bytes, a route takes unless it says otherwise (413 past it).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Chunks in one PUT .../chunks (the route's body limit follows from it); larger sources go through
    # `agentpress kb ingest`.
    max_chunks_per_request: int = Field(default=500, ge=1, le=100_000)
    # A config import's archive is read and its YAML parsed in a child process killed after this long.
    config_import_timeout_seconds: float = Field(default=20.0, gt=0)

    # Tasks: the highest priority an org member may give (owners and admins may go to the maximum), the
    # queued tasks an org may have at once, and the shortest interval at which a cron schedule may fire.
    task_member_max_priority: int = Field(default=100, ge=-1000, le=1000)
    max_queued_tasks_per_org: int = Field(default=10_000, ge=1)
    schedule_min_interval_seconds: int = Field(default=60, ge=1)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Processes `agentpress serve` runs (uvicorn workers, each with its own pools and background loops);
    # unset: one per core. Each worker holds up to POOL_MAX_SIZE + ANALYTICS_POOL_MAX_SIZE + 1 connections
    # (docs/configuration.md has the arithmetic against the server's max_connections).
    web_concurrency: int | None = Field(default=None, ge=1)
    # Password hashes run on this many threads at once in each process, with at most PASSWORD_HASH_QUEUE
    # more waiting; past that a sign-in is 503 with Retry-After. Default: the cores shared among the
    # processes `serve` runs (it passes WEB_CONCURRENCY on to them), so that N workers do not run N times
    # the cores' worth of hashes, each with its 64 MiB.
    password_hash_concurrency: int = Field(default_factory=_hash_threads, ge=1, le=256)
    password_hash_queue: int = Field(default=64, ge=0)
    # A connection straight to PostgreSQL, bypassing any pooler: the loops that run once per deployment
    # (the analytics refresh) elect their leader with a session-level advisory lock held on it, which
    # PgBouncer in transaction mode would break. Unset: DATABASE_URL.
    direct_database_url: str | None = Field(default=None, validate_default=True)
    log_level: LogLevel = "INFO"
    # GET /metrics answers only requests with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is 404.
    metrics_token: SecretStr | None = None
    auto_migrate: bool = False

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "database_url",
        "analytics_database_url",
        "direct_database_url",
        "redis_url",
        "smtp_url",
        "app_secret_key",
        "app_previous_secret_keys",
        "embeddings_url",
        "embeddings_model",
        "embeddings_api_key",
        "github_client_id",
        "github_client_secret",
        "google_client_id",
        "google_client_secret",
        "signup_org",
        "bootstrap_admin_email",
        "bootstrap_admin_password",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url", "analytics_database_url", "direct_database_url")
    @classmethod
    def _postgres_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("direct_database_url")
    @classmethod
    def _direct_behind_a_pooler(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The analytics refresh's leader holds a session-level advisory lock, which a transaction-mode pooler
        # would leave on whichever server connection took it: through PgBouncer, leadership would flap.
        pooled = info.data.get("database_pooler") == "pgbouncer"
        if value is None and pooled and info.data.get("analytics_refresh_enabled"):
            raise ValueError(
                "is required with DATABASE_POOLER=pgbouncer (a URL straight to PostgreSQL, for the analytics "
                "refresh's leader lock), unless ANALYTICS_REFRESH_ENABLED=false"
            )
        return value

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        # Links are built as f"{public_base_url}/path": one slash, however the variable was written.
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("embeddings_url")
    @classmethod
    def _embeddings_scheme(cls, value: str | None) -> str | None:
        # Requests go to f"{embeddings_url}/embeddings": one slash, however the variable was written.
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value is not None else None

    @field_validator("embeddings_model")
    @classmethod
    def _model_with_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("embeddings_url") is not None:
            raise ValueError("is required when EMBEDDINGS_URL is set")
        return value

    @field_validator("password_hash_parallelism")
    @classmethod
    def _memory_for_each_lane(cls, value: int, info: ValidationInfo) -> int:
        memory_kib = info.data.get("password_hash_memory_kib")
        if memory_kib is not None and memory_kib < 8 * value:
            raise ValueError("needs PASSWORD_HASH_MEMORY_KIB of at least 8 per lane (argon2's minimum)")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("must be an smtp:// or smtps:// URL")
        return value

    @field_validator("bootstrap_admin_password")
    @classmethod
    def _with_bootstrap_email(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if (value is None) != (info.data.get("bootstrap_admin_email") is None):
            raise ValueError("is set with BOOTSTRAP_ADMIN_EMAIL, both or neither")
        return value

    @field_validator("app_secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _hard_to_guess(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("app_previous_secret_keys")
    @classmethod
    def _each_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(len(key.strip()) < 32 for key in value.get_secret_value().split(",")):
            raise ValueError("must be keys of at least 32 characters each, separated by commas")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value.strip().lower() == REDIS_OFF:
            return REDIS_OFF
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL, or off")
        if value is None and info.data.get("database_url") is not None:
            # A local Redis per host would not do: a session revoked through one host must leave the cache of
            # every host that serves the database, so they share one Redis (or none).
            raise ValueError(
                "is required when DATABASE_URL is set: every process and host serving that database must share "
                "one Redis, or a session revoked through one of them would still be accepted from another's "
                "cache; set the URL of that Redis, or off to run without caching"
            )
        return value


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value raises ConfigError naming its variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            f"{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
            # A default computed from other settings is skipped once one of them is wrong: that one is the news.
            if error["type"] != "default_factory_not_called"
        ]
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
