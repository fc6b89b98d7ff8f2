"""Secrets: random tokens stored only as hashes, password hashing, and encryption of secrets at rest."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from uuid import UUID

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agentpress.settings import Settings

log = logging.getLogger("agentpress.services.crypto")

TOKEN_BYTES = 32  # 256 bits from the OS's CSPRNG
MAX_PASSWORD_LENGTH = 1024  # long passphrases are welcome; megabyte "passwords" are a denial of service


class _PasswordHashing:
    """The process's argon2id hasher, and a hash made with it that unknown emails are checked against,
    so that their answer takes as long as a wrong password's."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.dummy_hash = hasher.hash(secrets.token_urlsafe(16))


_hashing = _PasswordHashing(PasswordHasher())  # argon2-cffi's default: RFC 9106's low-memory profile


def configure_password_hashing(settings: Settings) -> None:
    """Hash with the settings' argon2id costs from now on (create_app calls it)."""
    global _hashing
    time_cost, memory_kib, parallelism = (
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )
    current = _hashing.hasher
    # Kept when the costs are the same: a new one makes a new dummy hash, a tenth of a second.
    if (current.time_cost, current.memory_cost, current.parallelism) != (time_cost, memory_kib, parallelism):
        hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        _hashing = _PasswordHashing(hasher)


def new_token() -> str:
    """A bearer token for a session, reset or invitation: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> bytes:
    """What the database stores of a token: its SHA-256. A stolen table holds no usable token."""
    return hashlib.sha256(token.encode()).digest()


def hash_password(password: str) -> str:
    return _hashing.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). bcrypt hashes from AgentPress verify and always need a rehash to argon2id.

    With no hash (unknown email, OAuth-only user) it still spends a check's time, so that timing
    does not tell whether an account exists.
    """
    if password_hash is None:
        _burn_time(password)
        return False, False
    if password_hash.startswith(("$2a$", "$2b$", "$2y$")):
        # bcrypt reads only the first 72 bytes; the old system hashed exactly those.
        candidate = password.encode()[:72]
        try:
            return bcrypt.checkpw(candidate, password_hash.encode()), True
        except ValueError:
            return False, False
    hasher = _hashing.hasher
    try:
        hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, hasher.check_needs_rehash(password_hash)


def _burn_time(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hashing.hasher.verify(_hashing.dummy_hash, password)


@dataclass(frozen=True)
class Binding:
    """Where a ciphertext is stored: its table, column and row. It is sealed inside the ciphertext, so a
    value copied to another row or column (by someone who can write the database but has no key) is refused."""

    table: str
    column: str
    row: str

    def label(self) -> bytes:
        return f"{self.table}.{self.column}:{self.row}".encode()


# Every column that holds a ciphertext, with what identifies its row (`agentpress secrets rotate` walks them all).
def outbox_body(email_id: UUID) -> Binding:
    return Binding("email_outbox", "body", str(email_id))


def provider_api_key(provider_id: UUID) -> Binding:
    return Binding("model_providers", "api_key", str(provider_id))


def oauth_token(column: Literal["access_token", "refresh_token"], provider: str, provider_id: str) -> Binding:
    # The identity at the provider, not the row's id: it is unique (oauth_connections_provider_provider_id_key),
    # known before the upsert that writes the tokens, and the same whichever row the upsert lands on.
    return Binding("oauth_connections", column, f"{provider}:{provider_id}")


def oauth_code_verifier(state_hash: bytes) -> Binding:
    return Binding("oauth_states", "code_verifier", state_hash.hex())


# What a bound plaintext starts with: 0xff never begins UTF-8 text, and every plaintext sealed before
# bindings existed was a str encoded as UTF-8, so the two cannot be confused. 0x01 is the envelope's version.
_BOUND_V1 = b"\xff\x01"


@dataclass(frozen=True)
class Opened:
    plaintext: str
    is_bound: bool  # False: sealed before bindings existed; `agentpress secrets rotate` binds it


class Encryptor:
    """Encrypts secrets at rest (Fernet: AES-128-CBC with HMAC-SHA256), each bound to where it is stored.

    Keyed from APP_SECRET_KEY (which encrypts) and APP_PREVIOUS_SECRET_KEYS (which still decrypt, until
    `agentpress secrets rotate` has re-encrypted everything under the current key).
    """

    def __init__(self, secret: str, *previous: str) -> None:
        self._fernet = MultiFernet([Fernet(_fernet_key(key)) for key in (secret, *previous)])

    def encrypt(self, plaintext: str, *, binding: Binding) -> bytes:
        label = binding.label()
        envelope = _BOUND_V1 + len(label).to_bytes(2, "big") + label + plaintext.encode()
        return self._fernet.encrypt(envelope)

    def decrypt(self, ciphertext: bytes, *, binding: Binding) -> str | None:
        """The plaintext, or None when no key decrypts it or it was sealed for another place."""
        opened = self.open(ciphertext, binding=binding)
        return None if opened is None else opened.plaintext

    def open(self, ciphertext: bytes, *, binding: Binding) -> Opened | None:
        """Like decrypt, and whether the ciphertext is bound; an unbound one (older than bindings) is accepted."""
        try:
            envelope = self._fernet.decrypt(bytes(ciphertext))
        except InvalidToken:
            return None
        try:
            if not envelope.startswith(b"\xff"):
                return Opened(envelope.decode(), is_bound=False)
            if not envelope.startswith(_BOUND_V1) or len(envelope) < 4:
                return None  # a version this code does not know
            length = int.from_bytes(envelope[2:4], "big")
            label, plaintext = envelope[4 : 4 + length], envelope[4 + length :]
            if label != binding.label():
                return None
            return Opened(plaintext.decode(), is_bound=True)
        except UnicodeDecodeError:
            return None


def _fernet_key(secret: str) -> bytes:
    # The info string predates the other uses of the key; changing it would make stored data unreadable.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"agentpress provider tokens").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(key)


@functools.cache
def _encryptor(secret: str, *previous: str) -> Encryptor:
    return Encryptor(secret, *previous)


def encryptor(settings: Settings) -> Encryptor:
    """The service's encryptor for secrets at rest (built once per set of keys)."""
    return _encryptor(app_secret_key(settings), *previous_secret_keys(settings))


def previous_secret_keys(settings: Settings) -> list[str]:
    """APP_PREVIOUS_SECRET_KEYS: keys that no longer encrypt but still decrypt, newest first."""
    if settings.app_previous_secret_keys is None:
        return []
    return [key.strip() for key in settings.app_previous_secret_keys.get_secret_value().split(",") if key.strip()]


def app_secret_key(settings: Settings) -> str:
    """APP_SECRET_KEY, or for a development install a random key kept in DATA_DIR/app_secret_key."""
    if settings.app_secret_key is not None:
        return settings.app_secret_key.get_secret_value()
    path: Path = settings.data_dir / "app_secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked into place: a process that starts at the same
        # moment either wins the link or reads the finished key, never an empty file.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
            log.warning("APP_SECRET_KEY is unset: generated one in %s; set it in production", path)
        except FileExistsError:
            pass  # another process made it first
        finally:
            draft.unlink()
    return path.read_text().strip()
