"""Secrets: random tokens stored only as hashes, password hashing, and encryption of secrets at rest."""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import logging
import os
import secrets
from pathlib import Path

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agentpress.config import Settings

log = logging.getLogger("agentpress.security")

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


class Encryptor:
    """Encrypts secrets at rest (Fernet: AES-128-CBC with HMAC-SHA256), keyed from APP_SECRET_KEY."""

    def __init__(self, secret: str) -> None:
        # The info string predates the other uses of the key; changing it would make stored data unreadable.
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"agentpress provider tokens").derive(
            secret.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str | None:
        """The plaintext, or None when the key has changed since it was encrypted."""
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            return None


@functools.cache
def _encryptor(secret: str) -> Encryptor:
    return Encryptor(secret)


def encryptor(settings: Settings) -> Encryptor:
    """The service's encryptor for secrets at rest (built once per key)."""
    return _encryptor(app_secret_key(settings))


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
