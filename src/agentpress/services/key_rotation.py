"""Key rotation: every stored ciphertext re-encrypted under APP_SECRET_KEY and bound to where it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from agentpress.repositories import secrets as sealed
from agentpress.services.crypto import (
    Binding,
    Encryptor,
    oauth_code_verifier,
    oauth_token,
    outbox_body,
    provider_api_key,
)

PAGE_SIZE = 500
FIRST_UUID = UUID(int=0)


@dataclass
class ColumnRotation:
    """What rotation did to one column: values re-encrypted, values no key decrypts (left as they are),
    and values changed by someone else between the read and the write (theirs is already current)."""

    resealed: int = 0
    unreadable: int = 0
    changed_meanwhile: int = 0


@dataclass
class Rotation:
    columns: dict[str, ColumnRotation] = field(default_factory=dict)

    def column(self, binding: Binding) -> ColumnRotation:
        return self.columns.setdefault(f"{binding.table}.{binding.column}", ColumnRotation())

    @property
    def unreadable(self) -> int:
        return sum(column.unreadable for column in self.columns.values())


class _Resealer:
    def __init__(self, encryptor: Encryptor, rotation: Rotation) -> None:
        self.encryptor, self.rotation = encryptor, rotation

    def reseal(self, ciphertext: bytes, binding: Binding) -> bytes | None:
        """The value under the current key, bound to `binding`; None (and counted) when it does not decrypt."""
        opened = self.encryptor.open(ciphertext, binding=binding)
        if opened is None:
            self.rotation.column(binding).unreadable += 1
            return None
        return self.encryptor.encrypt(opened.plaintext, binding=binding)

    def reseal_or_keep(self, ciphertext: bytes | None, binding: Binding) -> bytes | None:
        """For a column of two: the value resealed, or as it was when it does not decrypt (or is null)."""
        if ciphertext is None:
            return None
        return self.reseal(ciphertext, binding) or ciphertext

    def count(self, binding: Binding, *, written: bool) -> None:
        column = self.rotation.column(binding)
        if written:
            column.resealed += 1
        else:
            column.changed_meanwhile += 1


async def rotate_secrets(conn: AsyncConnection[Any], encryptor: Encryptor, *, page_size: int = PAGE_SIZE) -> Rotation:
    """Re-encrypt every stored ciphertext with the encryptor's first key, bound to its table, column and row.

    Each value is replaced by one statement, only if it is still the value read: safe while the service runs.
    A value that no key decrypts (its key is not among the encryptor's, or it was copied from elsewhere) is
    left as it is and counted. Run with `conn` in autocommit: every write stands on its own.
    """
    rotation = Rotation()
    resealer = _Resealer(encryptor, rotation)
    await _rotate_outbox(conn, resealer, page_size)
    await _rotate_provider_keys(conn, resealer, page_size)
    await _rotate_oauth_tokens(conn, resealer, page_size)
    await _rotate_oauth_states(conn, resealer, page_size)
    return rotation


async def _rotate_outbox(conn: AsyncConnection[Any], resealer: _Resealer, page_size: int) -> None:
    after = FIRST_UUID
    while rows := await sealed.list_sealed_outbox_bodies(conn, after=after, limit=page_size):
        for row in rows:
            binding = outbox_body(row.id)
            ciphertext = resealer.reseal(row.body, binding)
            if ciphertext is not None:
                written = await sealed.reseal_outbox_body(
                    conn, email_id=row.id, previous=row.body, ciphertext=ciphertext
                )
                resealer.count(binding, written=written)
        after = rows[-1].id


async def _rotate_provider_keys(conn: AsyncConnection[Any], resealer: _Resealer, page_size: int) -> None:
    after = FIRST_UUID
    while rows := await sealed.list_sealed_provider_keys(conn, after=after, limit=page_size):
        for row in rows:
            binding = provider_api_key(row.id)
            if row.api_key is None:
                continue  # the query reads only keys that are set
            ciphertext = resealer.reseal(row.api_key, binding)
            if ciphertext is not None:
                written = await sealed.reseal_provider_key(
                    conn, provider_id=row.id, previous=row.api_key, ciphertext=ciphertext
                )
                resealer.count(binding, written=written)
        after = rows[-1].id


async def _rotate_oauth_tokens(conn: AsyncConnection[Any], resealer: _Resealer, page_size: int) -> None:
    after = FIRST_UUID
    while rows := await sealed.list_sealed_oauth_tokens(conn, after=after, limit=page_size):
        for row in rows:
            access = oauth_token("access_token", row.provider, row.provider_id)
            refresh = oauth_token("refresh_token", row.provider, row.provider_id)
            # An unreadable token keeps its ciphertext; the other one is still re-encrypted.
            access_token = resealer.reseal_or_keep(row.access_token, access)
            refresh_token = resealer.reseal_or_keep(row.refresh_token, refresh)
            resealed = [
                binding
                for binding, before, now in (
                    (access, row.access_token, access_token),
                    (refresh, row.refresh_token, refresh_token),
                )
                if now != before
            ]
            if not resealed:
                continue
            written = await sealed.reseal_oauth_tokens(
                conn,
                connection_id=row.id,
                previous_access_token=row.access_token,
                previous_refresh_token=row.refresh_token,
                access_token=access_token,
                refresh_token=refresh_token,
            )
            for binding in resealed:
                resealer.count(binding, written=written)
        after = rows[-1].id


async def _rotate_oauth_states(conn: AsyncConnection[Any], resealer: _Resealer, page_size: int) -> None:
    after = b""
    while rows := await sealed.list_sealed_oauth_states(conn, after=after, limit=page_size):
        for row in rows:
            binding = oauth_code_verifier(row.state_hash)
            ciphertext = resealer.reseal(row.code_verifier, binding)
            if ciphertext is not None:
                written = await sealed.reseal_oauth_state(
                    conn, state_hash=row.state_hash, previous=row.code_verifier, ciphertext=ciphertext
                )
                resealer.count(binding, written=written)
        after = rows[-1].state_hash


def format_rotation(rotation: Rotation) -> str:
    """One line a column, for the agentpress command."""
    lines = []
    for name, column in sorted(rotation.columns.items()):
        line = f"{name}: {column.resealed} re-encrypted"
        if column.unreadable:
            line += f", {column.unreadable} unreadable (left as they are)"
        if column.changed_meanwhile:
            line += f", {column.changed_meanwhile} changed meanwhile (already current)"
        lines.append(line)
    return "\n".join(lines) or "nothing is stored encrypted"
