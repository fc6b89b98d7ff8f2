"""Key rotation: ciphertexts made before rotation (and before bindings) stay readable; `agentpress secrets rotate`
re-encrypts each under the new key, bound to its row; a value moved to another row or column is refused."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agentpress import cli
from agentpress.services.crypto import (
    Binding,
    Encryptor,
    encryptor,
    oauth_code_verifier,
    oauth_token,
    outbox_body,
    provider_api_key,
)
from agentpress.settings import ConfigError, load_settings

OLD_KEY = "the-key-this-install-has-used-until-now-0123"
NEW_KEY = "the-key-that-replaces-it-from-today-on-456789"
ROW = provider_api_key(UUID(int=1))


def sealed_the_old_way(secret: str, plaintext: str) -> bytes:
    """What Encryptor.encrypt stored before key rotation and bindings: Fernet over the bare plaintext."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"agentpress provider tokens").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key)).encrypt(plaintext.encode())


def test_a_ciphertext_made_the_old_way_still_decrypts_wherever_it_is_until_rotated() -> None:
    old = sealed_the_old_way(OLD_KEY, "sk-legacy")
    opened = Encryptor(OLD_KEY).open(old, binding=ROW)
    assert opened is not None and (opened.plaintext, opened.is_bound) == ("sk-legacy", False)
    # Through the previous keys too, once APP_SECRET_KEY has moved on.
    assert Encryptor(NEW_KEY, OLD_KEY).decrypt(old, binding=outbox_body(uuid4())) == "sk-legacy"
    assert Encryptor(NEW_KEY).decrypt(old, binding=ROW) is None


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    rotating = Encryptor(NEW_KEY, OLD_KEY)
    sealed = rotating.encrypt("sk-new", binding=ROW)
    assert Encryptor(NEW_KEY).decrypt(sealed, binding=ROW) == "sk-new"
    assert Encryptor(OLD_KEY).decrypt(sealed, binding=ROW) is None
    before = Encryptor(OLD_KEY).encrypt("sk-before", binding=ROW)
    assert rotating.decrypt(before, binding=ROW) == "sk-before"


@pytest.mark.parametrize(
    "elsewhere",
    [
        provider_api_key(UUID(int=2)),  # another row
        Binding("model_providers", "base_url", str(UUID(int=1))),  # another column of the row
        outbox_body(UUID(int=1)),  # another table, the same id
    ],
    ids=["row", "column", "table"],
)
def test_a_ciphertext_moved_to_another_row_column_or_table_is_refused(elsewhere: Binding) -> None:
    sealed = Encryptor(NEW_KEY).encrypt("sk-moved", binding=ROW)
    assert Encryptor(NEW_KEY).decrypt(sealed, binding=ROW) == "sk-moved"
    assert Encryptor(NEW_KEY).decrypt(sealed, binding=elsewhere) is None
    assert Encryptor(NEW_KEY).open(sealed, binding=elsewhere) is None


def test_an_envelope_of_an_unknown_version_is_refused() -> None:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"agentpress provider tokens").derive(
        NEW_KEY.encode()
    )
    future = Fernet(base64.urlsafe_b64encode(key)).encrypt(b"\xff\x02whatever")
    assert Encryptor(NEW_KEY).decrypt(future, binding=ROW) is None


def test_previous_keys_are_read_from_a_comma_separated_setting() -> None:
    settings = load_settings(app_secret_key=NEW_KEY, app_previous_secret_keys=f" {OLD_KEY} , {'x' * 40}")
    sealed_old = Encryptor(OLD_KEY).encrypt("a", binding=ROW)
    sealed_other = Encryptor("x" * 40).encrypt("b", binding=ROW)
    service = encryptor(settings)
    assert (service.decrypt(sealed_old, binding=ROW), service.decrypt(sealed_other, binding=ROW)) == ("a", "b")
    assert Encryptor(NEW_KEY).decrypt(service.encrypt("c", binding=ROW), binding=ROW) == "c"
    with pytest.raises(ConfigError, match=r"APP_PREVIOUS_SECRET_KEYS: .* at least 32 characters each"):
        load_settings(app_secret_key=NEW_KEY, app_previous_secret_keys=f"{OLD_KEY},short")


def seed_old_ciphertexts(database_url: str) -> dict[str, Any]:
    """One value in every column that holds a ciphertext, each made the old way under OLD_KEY."""
    provider_id, email_id = uuid4(), uuid4()
    state_hash = hashlib.sha256(b"a state").digest()
    with psycopg.connect(database_url) as conn:
        org_id = conn.execute("INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme') RETURNING id").fetchone()[0]  # type: ignore[index]
        user_id = conn.execute("INSERT INTO users (email) VALUES ('ada@example.com') RETURNING id").fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO model_providers (id, org_id, name, kind, api_key) VALUES (%s, %s, 'openai', 'openai', %s)",
            [provider_id, org_id, sealed_the_old_way(OLD_KEY, "sk-provider")],
        )
        conn.execute(
            "INSERT INTO email_outbox (id, kind, to_email, subject, body) "
            "VALUES (%s, 'password_reset', 'ada@example.com', 'Reset', %s)",
            [email_id, sealed_the_old_way(OLD_KEY, "open https://example.com/reset?token=t")],
        )
        conn.execute(
            "INSERT INTO oauth_connections (user_id, provider, provider_id, access_token, refresh_token) "
            "VALUES (%s, 'github', '42', %s, %s)",
            [user_id, sealed_the_old_way(OLD_KEY, "gho_access"), sealed_the_old_way(OLD_KEY, "ghr_refresh")],
        )
        conn.execute(
            "INSERT INTO oauth_states (state_hash, provider, code_verifier, browser_hash, expires_at) "
            "VALUES (%s, 'github', %s, %s, %s)",
            [
                state_hash,
                sealed_the_old_way(OLD_KEY, "the-pkce-verifier"),
                hashlib.sha256(b"a browser").digest(),
                datetime.now(UTC) + timedelta(minutes=10),
            ],
        )
    return {"org_id": org_id, "provider_id": provider_id, "email_id": email_id, "state_hash": state_hash}


def stored(database_url: str) -> dict[Binding, bytes]:
    """Every stored ciphertext, by where it is bound."""
    with psycopg.connect(database_url) as conn:
        found: dict[Binding, bytes] = {}
        for provider_id, api_key in conn.execute("SELECT id, api_key FROM model_providers WHERE api_key IS NOT NULL"):
            found[provider_api_key(provider_id)] = bytes(api_key)
        for email_id, body in conn.execute("SELECT id, body FROM email_outbox"):
            found[outbox_body(email_id)] = bytes(body)
        for provider, provider_id, access, refresh in conn.execute(
            "SELECT provider, provider_id, access_token, refresh_token FROM oauth_connections"
        ):
            found[oauth_token("access_token", provider, provider_id)] = bytes(access)
            found[oauth_token("refresh_token", provider, provider_id)] = bytes(refresh)
        for state_hash, code_verifier in conn.execute("SELECT state_hash, code_verifier FROM oauth_states"):
            found[oauth_code_verifier(bytes(state_hash))] = bytes(code_verifier)
    return found


PLAINTEXTS = {
    "model_providers": "sk-provider",
    "email_outbox": "open https://example.com/reset?token=t",
    "oauth_connections.access_token": "gho_access",
    "oauth_connections.refresh_token": "ghr_refresh",
    "oauth_states": "the-pkce-verifier",
}


def plaintext_of(binding: Binding) -> str:
    return PLAINTEXTS.get(f"{binding.table}.{binding.column}") or PLAINTEXTS[binding.table]


def rotate(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["secrets", "rotate"])
    out, err = capsys.readouterr()
    return code, out, err


def test_rotate_re_encrypts_every_secret_under_the_new_key_bound_to_its_row(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    seeded = seed_old_ciphertexts(database_url)
    # A bound key copied by someone who can write the table onto another provider: refused, left as it is.
    copied_to = uuid4()
    sealed = Encryptor(OLD_KEY).encrypt("sk-victim", binding=provider_api_key(uuid4()))
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO model_providers (id, org_id, name, kind, api_key) VALUES (%s, %s, 'stolen', 'openai', %s)",
            [copied_to, seeded["org_id"], sealed],
        )
    before = stored(database_url)
    assert len(before) == 6

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", "off")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("APP_SECRET_KEY", NEW_KEY)
    monkeypatch.setenv("APP_PREVIOUS_SECRET_KEYS", OLD_KEY)
    code, out, err = rotate(capsys)
    assert code == 1
    assert "model_providers.api_key: 1 re-encrypted, 1 unreadable (left as they are)" in out
    for column in ("email_outbox.body", "oauth_connections.access_token", "oauth_states.code_verifier"):
        assert f"{column}: 1 re-encrypted\n" in out + "\n"
    assert "1 value(s) decrypt with none of APP_SECRET_KEY and APP_PREVIOUS_SECRET_KEYS" in err

    after = stored(database_url)
    moved = provider_api_key(copied_to)
    assert after[moved] == before[moved]
    new_only = Encryptor(NEW_KEY)
    for binding, ciphertext in after.items():
        if binding == moved:
            continue
        assert ciphertext != before[binding]
        opened = new_only.open(ciphertext, binding=binding)
        assert opened is not None, binding
        assert (opened.plaintext, opened.is_bound) == (plaintext_of(binding), True)
        assert Encryptor(OLD_KEY).decrypt(ciphertext, binding=binding) is None
    # Bound now: the rotated provider key no longer reads as another row's, nor as the outbox's.
    provider_key = after[provider_api_key(seeded["provider_id"])]
    assert new_only.decrypt(provider_key, binding=provider_api_key(copied_to)) is None
    assert new_only.decrypt(provider_key, binding=outbox_body(seeded["provider_id"])) is None

    # Without the copied value, a second rotation finds everything readable, under the new key alone.
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE model_providers SET api_key = NULL WHERE id = %s", [copied_to])
    monkeypatch.delenv("APP_PREVIOUS_SECRET_KEYS")
    code, out, err = rotate(capsys)
    assert (code, err) == (0, "")
    assert "model_providers.api_key: 1 re-encrypted\n" in out + "\n"


@pytest.mark.anyio
async def test_rotation_is_paged_and_keeps_a_value_written_meanwhile(database_url: str) -> None:
    from agentpress.repositories import secrets as sealed_repo
    from agentpress.services.key_rotation import rotate_secrets

    with psycopg.connect(database_url) as conn:
        org_id = conn.execute("INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme') RETURNING id").fetchone()[0]  # type: ignore[index]
        for index in range(5):
            provider_id = uuid4()
            conn.execute(
                "INSERT INTO model_providers (id, org_id, name, kind, api_key) VALUES (%s, %s, %s, 'openai', %s)",
                [provider_id, org_id, f"p{index}", sealed_the_old_way(OLD_KEY, f"sk-{index}")],
            )
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        rotation = await rotate_secrets(conn, Encryptor(NEW_KEY, OLD_KEY), page_size=2)
        assert rotation.columns["model_providers.api_key"].resealed == 5
        (first, *_) = await sealed_repo.list_sealed_provider_keys(conn, after=UUID(int=0), limit=1)
        # A write between the read and the reseal wins: the reseal changes nothing.
        assert not await sealed_repo.reseal_provider_key(
            conn, provider_id=first.id, previous=b"what was read", ciphertext=b"resealed"
        )
        assert (await sealed_repo.list_sealed_provider_keys(conn, after=UUID(int=0), limit=1))[0] == first
