"""Registration, sign-in, tokens and sessions."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from helpers import PASSWORD, bearer, forget_cached_credentials, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services.crypto import hash_token
from agentpress.settings import Settings
from agentpress.web.app import create_app

# The settings' defaults (RFC 9106's low-memory profile); the tests' settings hash at the least cost.
DEFAULT_HASH_COSTS = {
    name: Settings.model_fields[name].default
    for name in ("password_hash_time_cost", "password_hash_memory_kib", "password_hash_parallelism")
}


def test_register_returns_a_token_that_signs_requests(client: TestClient[Litestar]) -> None:
    signed_in = register(client, "Ada@Example.com", username="ada", first_name="Ada")
    assert set(signed_in) == {"token", "expires_at", "user"}
    assert "password_hash" not in signed_in["user"]
    me = client.get("/api/v1/auth/me", headers=bearer(signed_in["token"]))
    assert me.status_code == 200
    assert me.json() == signed_in["user"]
    assert me.json()["email"] == "Ada@Example.com"


def test_default_user_role_guest(client: TestClient[Litestar], make_settings: Any) -> None:
    from agentpress.web.app import create_app

    register(client, "first@example.com")
    with TestClient(app=create_app(make_settings(default_user_role="guest"))) as guest_client:
        assert register(guest_client, "newcomer@example.com")["user"]["role"] == "guest"


def test_duplicate_email_in_any_case_is_409_naming_email(client: TestClient[Litestar], database_url: str) -> None:
    register(client, "ada@example.com")
    response = client.post("/api/v1/auth/register", json={"email": "ADA@example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "email", "message": "already exists"}]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM org_members").fetchone() == (1,)


def test_duplicate_username_is_409_naming_username(client: TestClient[Litestar]) -> None:
    register(client, "a@example.com", username="ada")
    response = client.post(
        "/api/v1/auth/register", json={"email": "b@example.com", "password": PASSWORD, "username": "ADA"}
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "username"


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"email": "a@example.com", "password": "short"}, 422, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, 400, "email"),
        ({"password": PASSWORD}, 400, "email"),
        ({"email": "a@example.com"}, 400, "password"),
        ({"email": "a@example.com", "password": "x" * 1025}, 400, "password"),
    ],
)
def test_bad_registration_names_the_field_and_creates_nothing(
    client: TestClient[Litestar], database_url: str, payload: dict[str, Any], status: int, field: str
) -> None:
    response = client.post("/api/v1/auth/register", json=payload)
    assert response.status_code == status, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_a_password_of_100_bytes_and_of_256_characters_work_end_to_end(client: TestClient[Litestar]) -> None:
    for email, password in [("hundred@example.com", "é" * 50), ("long@example.com", "p" * 255 + "!")]:
        assert len(password.encode()) >= 100
        register(client, email, password)
        login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200
        # Never truncated: the same password with its last character changed is wrong.
        wrong = client.post("/api/v1/auth/login", json={"email": email, "password": password[:-1] + "?"})
        assert wrong.status_code == 401


def test_login_and_logout(client: TestClient[Litestar]) -> None:
    register(client, "ada@example.com")
    login = client.post("/api/v1/auth/login", json={"email": "ADA@example.com", "password": PASSWORD})
    assert login.status_code == 200
    token = login.json()["token"]
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_unknown_email_and_wrong_password_get_the_same_401_in_about_the_same_time(
    make_settings: Callable[..., Settings],
) -> None:
    # At the default argon2id costs, so that a verification takes far longer than the request around it.
    with TestClient(app=create_app(make_settings(**DEFAULT_HASH_COSTS))) as client:
        register(client, "ada@example.com")
        answers, durations = [], {}
        for label, email in [("unknown", "nobody@example.com"), ("wrong", "ada@example.com")]:
            samples = []
            for _ in range(3):
                started = time.perf_counter()
                response = client.post("/api/v1/auth/login", json={"email": email, "password": "not the password"})
                samples.append(time.perf_counter() - started)
                answers.append((response.status_code, response.json()))
            durations[label] = min(samples)
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == 401
    # Both paths run one argon2 verification; a missing one would make the unknown email many times faster.
    assert durations["unknown"] > durations["wrong"] / 3


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer " + "x" * 500},
        {"Authorization": "token"},
    ],
)
def test_missing_or_malformed_token_is_401(client: TestClient[Litestar], headers: dict[str, str]) -> None:
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_expired_token_is_401(client: TestClient[Litestar], database_url: str) -> None:
    token = register(client, "ada@example.com")["token"]
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = %s", [hash_token(token)]
        )
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_revoked_session_is_401_and_sessions_are_listed(client: TestClient[Litestar]) -> None:
    first = register(client, "ada@example.com")["token"]
    second = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json()["token"]
    listed = client.get("/api/v1/auth/sessions", headers=bearer(second)).json()
    assert len(listed) == 2
    assert all("token" not in s and "token_hash" not in s for s in listed)
    oldest = listed[-1]["id"]
    assert client.delete(f"/api/v1/auth/sessions/{oldest}", headers=bearer(second)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(second)).status_code == 200
    # Revoking again, or someone else's session, is 404.
    assert client.delete(f"/api/v1/auth/sessions/{oldest}", headers=bearer(second)).status_code == 404


def test_sign_out_everywhere_revokes_every_session_of_the_user_and_no_one_elses(client: TestClient[Litestar]) -> None:
    first = register(client, "ada@example.com")["token"]
    second = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).json()["token"]
    bob = register(client, "bob@example.com")["token"]
    assert client.post("/api/v1/auth/sessions/revoke-all", headers=bearer(second)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(second)).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(bob)).status_code == 200
    again = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert client.get("/api/v1/auth/me", headers=bearer(again.json()["token"])).status_code == 200


def test_a_session_idle_longer_than_the_idle_timeout_is_401(
    client: TestClient[Litestar], database_url: str, redis_url: str
) -> None:
    token = register(client, "ada@example.com")["token"]
    idle = Settings.model_fields["session_idle_timeout_hours"].default
    assert idle < Settings.model_fields["session_ttl_hours"].default
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE sessions SET last_seen_at = now() - make_interval(hours => %s) + interval '1 minute'", [idle]
        )
    forget_cached_credentials(redis_url)  # changed in SQL, not through the API
    # Used within the timeout, it lives on, and its use is noted.
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE sessions SET last_seen_at = now() - make_interval(hours => %s)", [idle])
    forget_cached_credentials(redis_url)
    response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert "idle" in response.json()["detail"]


def test_another_users_session_cannot_be_revoked(client: TestClient[Litestar]) -> None:
    ada = register(client, "ada@example.com")["token"]
    bob = register(client, "bob@example.com")["token"]
    bobs_session = client.get("/api/v1/auth/sessions", headers=bearer(bob)).json()[0]["id"]
    assert client.delete(f"/api/v1/auth/sessions/{bobs_session}", headers=bearer(ada)).status_code == 404
    assert client.get("/api/v1/auth/me", headers=bearer(bob)).status_code == 200


def test_disabled_user_is_401_and_cannot_sign_in(client: TestClient[Litestar], database_url: str) -> None:
    token = register(client, "ada@example.com")["token"]
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET is_disabled = true")
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    login = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert login.status_code == 401


def test_a_bcrypt_user_inserted_by_sql_signs_in_and_is_rehashed_to_argon2id(
    client: TestClient[Litestar], database_url: str
) -> None:
    import bcrypt

    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO users (email, password_hash, role) VALUES ('legacy@example.com', %s, 'user')", [legacy]
        )
    wrong = client.post("/api/v1/auth/login", json={"email": "legacy@example.com", "password": "wrong password"})
    assert wrong.status_code == 401
    login = client.post("/api/v1/auth/login", json={"email": "legacy@example.com", "password": PASSWORD})
    assert login.status_code == 200, login.text
    with psycopg.connect(database_url) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE email = 'legacy@example.com'").fetchone()
    assert stored.startswith("$argon2id$")
    again = client.post("/api/v1/auth/login", json={"email": "legacy@example.com", "password": PASSWORD})
    assert again.status_code == 200


def test_a_password_hashed_at_other_costs_is_rehashed_at_the_next_sign_in(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    def stored_hash() -> str:
        with psycopg.connect(database_url) as conn:
            (value,) = conn.execute("SELECT password_hash FROM users WHERE email = 'ada@example.com'").fetchone()
        return str(value)

    with TestClient(app=create_app(make_settings())) as client:
        register(client, "ada@example.com")
    assert stored_hash().startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    with TestClient(app=create_app(make_settings(**DEFAULT_HASH_COSTS))) as client:
        login = client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert login.status_code == 200
    m, t, p = (DEFAULT_HASH_COSTS[f"password_hash_{cost}"] for cost in ("memory_kib", "time_cost", "parallelism"))
    assert stored_hash().startswith(f"$argon2id$v=19$m={m},t={t},p={p}$")


def test_a_user_is_created_with_their_org_membership_or_not_at_all(
    client: TestClient[Litestar], database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            """
            CREATE FUNCTION refuse_member() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'no members today' USING ERRCODE = 'check_violation'; END $$;
            CREATE TRIGGER refuse_member BEFORE INSERT ON org_members FOR EACH ROW EXECUTE FUNCTION refuse_member();
            """
        )
    response = client.post("/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 422
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


PUBLIC_ROUTES = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/password-resets"),
    ("post", "/api/v1/auth/password-resets/confirm"),
    ("post", "/api/v1/auth/email-verifications/confirm"),
    ("get", "/api/v1/auth/oauth/{provider}/start"),
    ("get", "/api/v1/auth/oauth/{provider}/callback"),
}


def test_every_other_api_route_answers_401_without_a_token(client: TestClient[Litestar]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    routes = [(method, path) for path, item in paths.items() if path.startswith("/api/v1/") for method in item]
    assert set(routes) >= PUBLIC_ROUTES
    protected = [route for route in routes if route not in PUBLIC_ROUTES]
    assert len(protected) > 10
    for method, path in protected:
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path.replace("{version}", "1"))
        # Required query parameters are given, so that only the missing token is wrong.
        response = client.request(method.upper(), url, json={}, params={"q": "x"})
        assert response.status_code == 401, f"{method.upper()} {path}: {response.status_code}"
