"""OAuth sign-in with GitHub and Google against a stand-in provider on a real socket."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import psycopg
import pytest
from helpers import bearer, link_token, register, verify_email
from litestar import Litestar
from litestar.testing import TestClient
from oauth_provider import CLIENT_IDS, RunningProvider, StandInProvider

from agentpress.services.crypto import Encryptor, oauth_token, outbox_body
from agentpress.settings import Settings
from agentpress.web.app import create_app

APP_SECRET_KEY = "test-app-secret-key-long-enough-for-fernet-0123456789"
PUBLIC_BASE_URL = "http://testserver.local"  # the TestClient's own base, so callback URLs resolve to it
OCTOCAT = {
    "id": 583231,
    "login": "octocat",
    "name": "The Octocat",
    "email": None,
    "avatar_url": "https://avatars.example/octocat.png",
}
OCTOCAT_EMAILS = [
    {"email": "octo-old@example.com", "primary": False, "verified": True},
    {"email": "octocat@example.com", "primary": True, "verified": True},
]
GRACE = {
    "sub": "109876543210",
    "email": "grace@example.com",
    "email_verified": True,
    "given_name": "Grace",
    "family_name": "Hopper",
    "name": "Grace Hopper",
    "picture": "https://photos.example/grace.png",
}


@pytest.fixture
def provider() -> Iterator[StandInProvider]:
    with RunningProvider() as running:
        running.github_accounts["octocat"] = dict(OCTOCAT)
        running.github_emails["octocat"] = [dict(email) for email in OCTOCAT_EMAILS]
        running.github_accounts["hubot"] = {"id": 7, "login": "hubot", "name": None, "email": "hubot@example.com"}
        running.google_accounts["grace"] = dict(GRACE)
        yield running


@pytest.fixture
def responses() -> list[httpx.Response]:
    """Every response the service gave in the test."""
    return []


@pytest.fixture
def oauth_settings(make_settings: Callable[..., Settings], provider: StandInProvider) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        values = {
            "public_base_url": PUBLIC_BASE_URL,
            "app_secret_key": APP_SECRET_KEY,
            # Reset requests are worked through off the request: quickly, for the tests that reset passwords.
            "password_reset_poll_seconds": 0.02,
            **provider.settings(),
        }
        return make_settings(**{**values, **overrides})

    return build


@pytest.fixture
def oauth_client(
    oauth_settings: Callable[..., Settings], provider: StandInProvider, responses: list[httpx.Response]
) -> Iterator[TestClient[Litestar]]:
    """The service with both providers pointing at the stand-in; it records every response."""

    def record(response: httpx.Response) -> None:
        response.read()
        responses.append(response)

    with TestClient(app=create_app(oauth_settings())) as client:
        client.event_hooks["response"].append(record)
        yield client
    # Whatever the test did, no answer of the service carried a provider token.
    assert_no_token_in(responses, provider)


def assert_no_token_in(responses: list[httpx.Response], provider: StandInProvider) -> None:
    for response in responses:
        seen = response.text + str(dict(response.headers))
        for token in provider.plaintext_tokens():
            assert token not in seen, f"{response.request.url} answered a provider token"


def start(client: TestClient[Litestar], name: str, headers: dict[str, str] | None = None) -> str:
    """Begin a sign-in; the authorize URL the service redirected to."""
    answer = client.get(f"/api/v1/auth/oauth/{name}/start", headers=headers or {}, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location: str = answer.headers["location"]
    return location


def authorize(location: str, account: str) -> tuple[str, dict[str, str]]:
    """Play the browser at the provider: the user picks `account`; the callback path and query it sends back."""
    answer = httpx.get(httpx.URL(location).copy_add_param("account", account), follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == PUBLIC_BASE_URL
    return back.path, dict(parse_qsl(back.query))


def sign_in(
    client: TestClient[Litestar], name: str, account: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    path, params = authorize(start(client, name, headers), account)
    return client.get(path, params=params)


def count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (fixed test table names)
    assert row is not None
    return int(row[0])


def connections(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT user_id::text, provider, provider_id, access_token, refresh_token, scopes, expires_at "
            "FROM oauth_connections ORDER BY created_at"
        )
        return cur.fetchall()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_new_github_user_signs_up_end_to_end(
    oauth_client: TestClient[Litestar], provider: StandInProvider, database_url: str
) -> None:
    location = start(oauth_client, "github")
    url = urlsplit(location)
    assert location.startswith(provider.settings()["github_authorize_url"] + "?")  # type: ignore[operator]
    params = dict(parse_qsl(url.query))
    assert params.pop("state")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", params.pop("code_challenge"))
    assert params == {
        "response_type": "code",
        "client_id": CLIENT_IDS["github"],
        "redirect_uri": f"{PUBLIC_BASE_URL}/api/v1/auth/oauth/github/callback",
        "scope": "read:user user:email",
        "code_challenge_method": "S256",
    }

    path, query = authorize(location, "octocat")
    assert path == "/api/v1/auth/oauth/github/callback"
    answer = oauth_client.get(path, params=query)
    assert answer.status_code == 200, answer.text
    signed_in = answer.json()
    assert set(signed_in) == {"token", "expires_at", "user"}
    user = signed_in["user"]
    assert {k: user[k] for k in ("email", "github_id", "github_username", "google_id", "provider")} == {
        "email": "octocat@example.com",  # the primary verified one of /user/emails, /user having none
        "github_id": "583231",
        "github_username": "octocat",
        "google_id": None,
        "provider": "github",
    }
    assert (user["display_name"], user["avatar_url"], user["is_email_verified"]) == (
        "The Octocat",
        "https://avatars.example/octocat.png",
        True,
    )
    assert "GET /github/api/user/emails" in provider.requests
    me = oauth_client.get("/api/v1/auth/me", headers=bearer(signed_in["token"]))
    assert me.json() == user

    (connection,) = connections(database_url)
    assert (connection["user_id"], connection["provider"], connection["provider_id"]) == (
        user["id"],
        "github",
        "583231",
    )
    assert connection["scopes"] == ["read:user", "user:email"]
    assert connection["expires_at"] is not None
    assert count(database_url, "oauth_states") == 0
    with psycopg.connect(database_url) as conn:
        member = conn.execute("SELECT role FROM org_members WHERE user_id = %s", [user["id"]]).fetchone()
        (password_hash,) = conn.execute("SELECT password_hash FROM users").fetchone() or (None,)
    assert member == ("member",)  # of the shared org the test settings name (SIGNUP_ORG=default)
    assert password_hash is None


def test_provider_tokens_are_stored_encrypted_and_never_answered(
    oauth_client: TestClient[Litestar],
    provider: StandInProvider,
    database_url: str,
    responses: list[httpx.Response],
) -> None:
    token = sign_in(oauth_client, "github", "octocat").json()["token"]
    sign_in(oauth_client, "google", "grace")
    for path in ("/api/v1/auth/me", "/api/v1/auth/sessions"):
        assert oauth_client.get(path, headers=bearer(token)).status_code == 200
    assert len(provider.issued) == 2
    encryptor = Encryptor(APP_SECRET_KEY)
    stored = {row["provider"]: row for row in connections(database_url)}
    for issued in provider.issued:
        row = stored[issued.provider]
        for column, plaintext in (("access_token", issued.access_token), ("refresh_token", issued.refresh_token)):
            ciphertext = bytes(row[column])
            assert plaintext.encode() not in ciphertext
            binding = oauth_token(column, row["provider"], row["provider_id"])
            assert encryptor.decrypt(ciphertext, binding=binding) == plaintext
    with psycopg.connect(database_url) as conn:
        dump = str(conn.execute("SELECT u.*, c.* FROM users u JOIN oauth_connections c ON c.user_id = u.id").fetchall())
    assert all(plaintext not in dump for plaintext in provider.plaintext_tokens())
    assert len(responses) == 6  # two starts, two callbacks, me, sessions
    assert_no_token_in(responses, provider)


def test_a_new_google_user_signs_up(
    oauth_client: TestClient[Litestar], provider: StandInProvider, database_url: str
) -> None:
    location = start(oauth_client, "google")
    assert dict(parse_qsl(urlsplit(location).query))["scope"] == "openid email profile"
    path, params = authorize(location, "grace")
    answer = oauth_client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    user = answer.json()["user"]
    fields = ("email", "google_id", "github_id", "first_name", "last_name", "display_name", "avatar_url")
    assert {k: user[k] for k in fields} == {
        "email": "grace@example.com",
        "google_id": "109876543210",
        "github_id": None,
        "first_name": "Grace",
        "last_name": "Hopper",
        "display_name": "Grace Hopper",
        "avatar_url": "https://photos.example/grace.png",
    }
    assert (user["provider"], user["is_email_verified"]) == ("google", True)
    (connection,) = connections(database_url)
    assert (connection["provider"], connection["provider_id"]) == ("google", "109876543210")
    assert connection["scopes"] == ["openid", "email", "profile"]


def test_an_unverified_google_email_cannot_sign_up(
    oauth_client: TestClient[Litestar], provider: StandInProvider, database_url: str
) -> None:
    provider.google_accounts["grace"]["email_verified"] = False
    answer = sign_in(oauth_client, "google", "grace")
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "email"
    assert count(database_url, "users") == 0


def test_a_returning_identity_signs_in_the_same_user(
    oauth_client: TestClient[Litestar], provider: StandInProvider, database_url: str
) -> None:
    first = sign_in(oauth_client, "github", "hubot")
    second = sign_in(oauth_client, "github", "hubot")
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["user"]["id"] == second.json()["user"]["id"]
    assert first.json()["token"] != second.json()["token"]
    # /user had a public email, so /user/emails was never asked.
    assert "GET /github/api/user/emails" not in provider.requests
    assert first.json()["user"]["email"] == "hubot@example.com"
    assert count(database_url, "users") == 1
    (connection,) = connections(database_url)
    # The connection holds the tokens of the latest sign-in.
    binding = oauth_token("access_token", connection["provider"], connection["provider_id"])
    access_token = Encryptor(APP_SECRET_KEY).decrypt(bytes(connection["access_token"]), binding=binding)
    assert access_token == provider.issued[-1].access_token


def test_a_signed_in_user_links_github_and_google(
    oauth_client: TestClient[Litestar], provider: StandInProvider, database_url: str
) -> None:
    ada = register(oauth_client, "ada@example.com")
    verify_email(database_url, "ada@example.com")
    linked = sign_in(oauth_client, "github", "octocat", headers=bearer(ada["token"]))
    assert linked.status_code == 200, linked.text
    user = linked.json()["user"]
    assert user["id"] == ada["user"]["id"]
    assert (user["email"], user["provider"]) == ("ada@example.com", "email")  # the account keeps its own email
    assert (user["github_id"], user["github_username"]) == ("583231", "octocat")
    google = sign_in(oauth_client, "google", "grace", headers=bearer(ada["token"]))
    assert google.status_code == 200, google.text
    assert google.json()["user"]["google_id"] == "109876543210"
    assert {(row["user_id"], row["provider"]) for row in connections(database_url)} == {
        (ada["user"]["id"], "github"),
        (ada["user"]["id"], "google"),
    }
    # Later, either provider alone signs Ada in.
    for name, account in (("github", "octocat"), ("google", "grace")):
        answer = sign_in(oauth_client, name, account)
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["id"] == ada["user"]["id"]
    assert count(database_url, "users") == 1


def test_linking_an_account_that_signs_in_another_user_is_409(
    oauth_client: TestClient[Litestar], provider: StandInProvider, database_url: str
) -> None:
    octocat = sign_in(oauth_client, "github", "octocat").json()["user"]
    ada = register(oauth_client, "ada@example.com")
    verify_email(database_url, "ada@example.com")
    answer = sign_in(oauth_client, "github", "octocat", headers=bearer(ada["token"]))
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "conflict"
    assert answer.json()["errors"] == [{"field": "provider_id", "message": "is linked to another user"}]
    me = oauth_client.get("/api/v1/auth/me", headers=bearer(ada["token"])).json()
    assert me["github_id"] is None
    assert [row["user_id"] for row in connections(database_url)] == [octocat["id"]]


def test_an_invalid_bearer_token_at_start_is_401_not_a_silent_sign_in(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    answer = oauth_client.get(
        "/api/v1/auth/oauth/github/start", headers=bearer("no-such-token"), follow_redirects=False
    )
    assert answer.status_code == 401
    assert count(database_url, "oauth_states") == 0


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda params: {**params, "state": "forged-state"}, id="unknown"),
        pytest.param(lambda params: {**params, "state": "x" * 513}, id="too-long"),
        pytest.param(lambda params: {"code": params["code"]}, id="missing"),
        pytest.param(lambda params: {**params, "state": ""}, id="empty"),
    ],
)
def test_a_wrong_state_is_400_and_creates_nothing(
    oauth_client: TestClient[Litestar], database_url: str, forge: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    path, params = authorize(start(oauth_client, "github"), "octocat")
    answer = oauth_client.get(path, params=forge(params))
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert [error["field"] for error in answer.json()["errors"]] == ["state"]
    assert count(database_url, "users") == 0
    assert count(database_url, "oauth_connections") == 0
    assert count(database_url, "sessions") == 0


def test_a_sign_in_finished_in_another_browser_is_400_and_keeps_the_state(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    # Someone starts a sign-in (or a link) and sends the provider's link to a victim, whose browser
    # comes back to the callback without the starter's cookie.
    path, params = authorize(start(oauth_client, "github"), "octocat")
    starter_cookies = dict(oauth_client.cookies)
    assert starter_cookies.get("agentpress_oauth")
    oauth_client.cookies.clear()
    victim = oauth_client.get(path, params=params)
    assert victim.status_code == 400
    assert victim.json()["errors"][0]["field"] == "state"
    oauth_client.cookies.set("agentpress_oauth", "another-browsers-nonce")
    assert oauth_client.get(path, params=params).status_code == 400
    assert count(database_url, "users") == 0
    # The starter's own browser can still finish it.
    oauth_client.cookies.clear()
    oauth_client.cookies.set("agentpress_oauth", starter_cookies["agentpress_oauth"])
    assert oauth_client.get(path, params=params).status_code == 200


def test_a_state_issued_for_another_provider_is_400(oauth_client: TestClient[Litestar], database_url: str) -> None:
    _, params = authorize(start(oauth_client, "github"), "octocat")
    answer = oauth_client.get("/api/v1/auth/oauth/google/callback", params=params)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "state"
    assert count(database_url, "users") == 0


def test_a_reused_state_is_400(oauth_client: TestClient[Litestar], database_url: str) -> None:
    path, params = authorize(start(oauth_client, "github"), "octocat")
    assert oauth_client.get(path, params=params).status_code == 200
    again = oauth_client.get(path, params=params)
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "state"
    assert count(database_url, "users") == 1
    assert count(database_url, "sessions") == 1


def test_an_expired_state_is_400_and_later_starts_clear_it_away(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    path, params = authorize(start(oauth_client, "github"), "octocat")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE oauth_states SET expires_at = now() - interval '1 second'")
    answer = oauth_client.get(path, params=params)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "state"
    assert count(database_url, "users") == 0
    start(oauth_client, "google")
    assert count(database_url, "oauth_states") == 1  # only the new one


def test_states_expire_after_ten_minutes(oauth_client: TestClient[Litestar], database_url: str) -> None:
    start(oauth_client, "github")
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT expires_at - created_at, user_id, length(code_verifier) FROM oauth_states"
        ).fetchone()
    assert row is not None
    lifetime, user_id, verifier_length = row
    assert 599 <= lifetime.total_seconds() <= 601
    assert user_id is None
    assert verifier_length > 86  # encrypted, not the bare verifier


def test_an_error_from_the_provider_is_400_and_spends_the_state(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    location = start(oauth_client, "github")
    state = dict(parse_qsl(urlsplit(location).query))["state"]
    answer = oauth_client.get("/api/v1/auth/oauth/github/callback", params={"error": "access_denied", "state": state})
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "error", "message": "access_denied"}]
    assert count(database_url, "oauth_states") == 0


def test_a_missing_code_is_400_naming_code(oauth_client: TestClient[Litestar]) -> None:
    path, params = authorize(start(oauth_client, "github"), "octocat")
    answer = oauth_client.get(path, params={"state": params["state"]})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "code"


@pytest.mark.parametrize(("name", "account"), [("github", "octocat"), ("google", "grace")])
def test_a_code_with_another_sign_ins_state_fails_pkce_and_is_400_naming_code(
    oauth_client: TestClient[Litestar], database_url: str, name: str, account: str
) -> None:
    path, first = authorize(start(oauth_client, name), account)
    _, second = authorize(start(oauth_client, name), account)
    # The first sign-in's code with the second's state: the verifier sent is not the one the code was issued for.
    answer = oauth_client.get(path, params={"code": first["code"], "state": second["state"]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == "code"
    assert count(database_url, "users") == 0


def test_unknown_and_unconfigured_providers_are_404(
    client: TestClient[Litestar], oauth_settings: Callable[..., Settings]
) -> None:
    # `client` has no provider configured at all.
    for path in ("github/start", "google/start", "github/callback?code=c&state=s", "gitlab/start"):
        answer = client.get(f"/api/v1/auth/oauth/{path}", follow_redirects=False)
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "not_found"
    # A client id without its secret is not configured either.
    settings = oauth_settings(google_client_id=None, github_client_secret=None)
    with TestClient(app=create_app(settings)) as partial:
        for name in ("github", "google"):
            assert partial.get(f"/api/v1/auth/oauth/{name}/start", follow_redirects=False).status_code == 404


def test_an_email_of_another_account_is_409_naming_email_and_rolls_back(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    register(oauth_client, "OctoCat@example.com")
    answer = sign_in(oauth_client, "github", "octocat")
    assert answer.status_code == 409, answer.text
    assert answer.json()["errors"] == [{"field": "email", "message": "already exists"}]
    assert count(database_url, "users") == 1
    assert count(database_url, "org_members") == 1
    assert count(database_url, "oauth_connections") == 0
    assert count(database_url, "sessions") == 1  # the registration's own


def test_a_github_account_without_a_verified_email_cannot_sign_up(
    oauth_client: TestClient[Litestar], provider: StandInProvider, database_url: str
) -> None:
    provider.github_emails["octocat"] = [{"email": "octocat@example.com", "primary": True, "verified": False}]
    answer = sign_in(oauth_client, "github", "octocat")
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "email"
    assert count(database_url, "users") == 0


def test_a_user_imported_with_a_github_id_signs_in_as_themselves(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        (user_id,) = conn.execute(
            "INSERT INTO users (email, github_id, role) "
            "VALUES ('legacy@example.com', '583231', 'user') RETURNING id::text"
        ).fetchone() or (None,)
    answer = sign_in(oauth_client, "github", "octocat")
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["id"] == user_id
    assert [row["user_id"] for row in connections(database_url)] == [user_id]


def test_a_disabled_user_is_401(oauth_client: TestClient[Litestar], database_url: str) -> None:
    assert sign_in(oauth_client, "google", "grace").status_code == 200
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET is_disabled = true")
    answer = sign_in(oauth_client, "google", "grace")
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert count(database_url, "sessions") == 1


@pytest.mark.parametrize(
    "break_provider",
    [
        pytest.param(lambda p: setattr(p, "outage_status", 503), id="token-endpoint-503"),
        pytest.param(lambda p: p.failing_paths.update({"/github/api/user": 500}), id="user-endpoint-500"),
    ],
)
def test_a_provider_answering_errors_is_502(
    oauth_client: TestClient[Litestar],
    provider: StandInProvider,
    database_url: str,
    break_provider: Callable[[StandInProvider], None],
) -> None:
    path, params = authorize(start(oauth_client, "github"), "octocat")
    break_provider(provider)
    answer = oauth_client.get(path, params=params)
    assert answer.status_code == 502, answer.text
    body = answer.json()
    assert set(body) == {"status_code", "code", "detail", "errors", "request_id"}
    assert (body["status_code"], body["code"]) == (502, "bad_gateway")
    assert body["request_id"] == answer.headers["x-request-id"]
    assert "GitHub" in body["detail"]
    assert count(database_url, "users") == 0


def test_an_unreachable_provider_is_502(
    oauth_settings: Callable[..., Settings], provider: StandInProvider, database_url: str
) -> None:
    settings = oauth_settings(google_token_url=f"{closed_port_url()}/token")
    with TestClient(app=create_app(settings)) as client:
        path, params = authorize(start(client, "google"), "grace")
        answer = client.get(path, params=params)
    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "bad_gateway"
    assert count(database_url, "users") == 0


def test_a_providers_error_body_never_reaches_the_caller(
    oauth_client: TestClient[Litestar], provider: StandInProvider
) -> None:
    secret = "gho_SECRET0123456789abcdef"
    path, params = authorize(start(oauth_client, "github"), "octocat")
    provider.failing_paths["/github/login/oauth/access_token"] = 500
    provider.failure_body = {"error": "server_error", "error_description": f"client secret {secret} rejected"}
    answer = oauth_client.get(path, params=params)
    assert answer.status_code == 502, answer.text
    assert secret not in answer.text and "HTTP 500" not in answer.text
    request_id = answer.headers["x-request-id"]
    assert answer.json()["detail"].endswith(f"(request id {request_id})")


def mailed(database_url: str, kind: str, to_email: str, count: int = 1) -> list[str]:
    """The bodies of the mail of `kind` queued for an address (under this module's APP_SECRET_KEY), once
    `count` are: reset mail is queued a moment after the request."""
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT id, body FROM email_outbox WHERE kind = %s AND to_email = %s ORDER BY created_at, id",
                [kind, to_email],
            ).fetchall()
        if len(rows) >= count:
            cipher = Encryptor(APP_SECRET_KEY)
            return [cipher.decrypt(body, binding=outbox_body(email_id)) or "" for email_id, body in rows]
        assert time.monotonic() < deadline, f"no {kind} mail to {to_email}"
        time.sleep(0.02)


def reset_password(client: TestClient[Litestar], database_url: str, email: str, password: str) -> None:
    """What the address's owner does: ask for a reset link, open it from their mailbox, choose a password."""
    before = len(mailed(database_url, "password_reset", email, count=0))
    assert client.post("/api/v1/auth/password-resets", json={"email": email}).status_code == 202
    token = link_token(mailed(database_url, "password_reset", email, count=before + 1)[-1])
    answer = client.post("/api/v1/auth/password-resets/confirm", json={"token": token, "password": password})
    assert answer.status_code == 204, answer.text


def test_an_unverified_account_cannot_link_and_is_told_why(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    ada = register(oauth_client, "ada@example.com")
    answer = oauth_client.get("/api/v1/auth/oauth/github/start", headers=bearer(ada["token"]), follow_redirects=False)
    assert answer.status_code == 403
    assert answer.json()["code"] == "email_unverified"
    assert "verify your email address before you link a GitHub account" in answer.json()["detail"]
    assert count(database_url, "oauth_states") == 0


def test_the_pre_hijack_fails(oauth_client: TestClient[Litestar], database_url: str) -> None:
    """An attacker registers the victim's address and links their own GitHub (hubot); the victim takes the
    account back with a password reset; the attacker's GitHub must not sign in as the victim."""
    attacker = register(oauth_client, "victim@example.com", password="the attacker's password")
    victim_account = attacker["user"]["id"]
    linking = oauth_client.get(
        "/api/v1/auth/oauth/github/start", headers=bearer(attacker["token"]), follow_redirects=False
    )
    assert linking.status_code == 403  # the address is not verified: no link
    reset_password(oauth_client, database_url, "victim@example.com", "the victim's new password")
    hubot = sign_in(oauth_client, "github", "hubot")
    assert hubot.status_code == 200, hubot.text
    assert hubot.json()["user"]["id"] != victim_account
    assert hubot.json()["user"]["email"] == "hubot@example.com"  # an account of the attacker's own
    victim = oauth_client.post(
        "/api/v1/auth/login", json={"email": "victim@example.com", "password": "the victim's new password"}
    )
    assert victim.json()["user"]["is_email_verified"] is True  # the reset link proved the address
    assert victim.json()["user"]["github_id"] is None


def link_made_before_verification(client: TestClient[Litestar], database_url: str, token: str, account: str) -> None:
    """A link as one made before email verification existed is left by migration 0016: made while the
    account was unverified (the migration flags those links of unverified users)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET is_email_verified = true")
        assert sign_in(client, "github", account, headers=bearer(token)).status_code == 200
        conn.execute("UPDATE users SET is_email_verified = false WHERE github_id IS NOT NULL")
        conn.execute("UPDATE oauth_connections SET is_linked_unverified = true")


def test_a_reset_removes_links_made_while_unverified_and_links_in_flight(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    attacker = register(oauth_client, "victim@example.com", password="the attacker's password")
    link_made_before_verification(oauth_client, database_url, attacker["token"], "hubot")
    assert sign_in(oauth_client, "github", "hubot").json()["user"]["id"] == attacker["user"]["id"]  # the hijack
    # A link the attacker started, still in flight when the victim resets.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET is_email_verified = true")
        in_flight = authorize(start(oauth_client, "google", headers=bearer(attacker["token"])), "grace")
        conn.execute("UPDATE users SET is_email_verified = false")

    reset_password(oauth_client, database_url, "victim@example.com", "the victim's new password")
    assert connections(database_url) == []
    assert count(database_url, "oauth_states") == 0
    hubot = sign_in(oauth_client, "github", "hubot")
    assert hubot.status_code == 200, hubot.text
    assert hubot.json()["user"]["id"] != attacker["user"]["id"]
    path, params = in_flight
    assert oauth_client.get(path, params=params).status_code == 400
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT github_id, github_username, google_id FROM users WHERE email = 'victim@example.com'"
        ).fetchone() == (None, None, None)


def test_a_reset_keeps_links_made_after_verification(oauth_client: TestClient[Litestar], database_url: str) -> None:
    ada = register(oauth_client, "ada@example.com")
    verify_email(database_url, "ada@example.com")
    assert sign_in(oauth_client, "github", "octocat", headers=bearer(ada["token"])).status_code == 200
    reset_password(oauth_client, database_url, "ada@example.com", "a new passphrase")
    assert sign_in(oauth_client, "github", "octocat").json()["user"]["id"] == ada["user"]["id"]


def test_every_new_link_is_mailed_to_the_account(oauth_client: TestClient[Litestar], database_url: str) -> None:
    ada = register(oauth_client, "ada@example.com")
    verify_email(database_url, "ada@example.com")
    assert sign_in(oauth_client, "github", "octocat", headers=bearer(ada["token"])).status_code == 200
    (body,) = mailed(database_url, "oauth_linked", "ada@example.com")
    assert "A GitHub account (octocat) was linked to your AgentPress account" in body
    # Signing in again through the link is not a new link; an account made by a sign-up is not told of its own.
    assert sign_in(oauth_client, "github", "octocat").status_code == 200
    assert sign_in(oauth_client, "google", "grace").status_code == 200
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM email_outbox WHERE kind = 'oauth_linked'").fetchone() == (1,)


def test_a_provider_vouching_for_the_accounts_own_address_verifies_it(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    legacy = register(oauth_client, "octocat@example.com")
    link_made_before_verification(oauth_client, database_url, legacy["token"], "octocat")
    # GitHub says octocat@example.com is octocat's primary address, verified.
    answer = sign_in(oauth_client, "github", "octocat")
    assert answer.json()["user"]["id"] == legacy["user"]["id"]
    assert answer.json()["user"]["is_email_verified"] is True


def test_a_sign_in_never_attaches_to_an_unverified_account_by_email(
    oauth_client: TestClient[Litestar], database_url: str
) -> None:
    # Someone registered octocat's address; octocat signs in with GitHub, whose verified email it is.
    squatter = register(oauth_client, "octocat@example.com")
    answer = sign_in(oauth_client, "github", "octocat")
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["field"] == "email"
    assert connections(database_url) == []
    me = oauth_client.get("/api/v1/auth/me", headers=bearer(squatter["token"])).json()
    assert (me["github_id"], me["is_email_verified"]) == (None, False)
