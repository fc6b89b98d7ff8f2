"""A stand-in OAuth provider for the tests: a real HTTP server playing GitHub and Google, PKCE checked."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_IDS = {"github": "github-client-id", "google": "google-client-id"}
CLIENT_SECRETS = {"github": "github-client-secret", "google": "google-client-secret"}


@dataclass
class Grant:
    """One authorization: what /authorize was asked, and the account the user chose there."""

    provider: str
    account: str
    params: dict[str, str]
    is_redeemed: bool = False


@dataclass
class IssuedTokens:
    provider: str
    account: str
    access_token: str
    refresh_token: str


@dataclass
class StandInProvider:
    """Accounts by provider and name; every authorization, token and request it saw."""

    github_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    github_emails: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    google_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    issued: list[IssuedTokens] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    # Set to answer every request with this status, as a provider having an outage does.
    outage_status: int | None = None
    # Paths that answer with the given status while the rest work.
    failing_paths: dict[str, int] = field(default_factory=dict)
    # What a failing request answers.
    failure_body: Any = field(default_factory=lambda: {"message": "service unavailable"})
    base_url: str = ""

    def settings(self) -> dict[str, object]:
        """The service's settings that point both providers here."""
        return {
            "github_client_id": CLIENT_IDS["github"],
            "github_client_secret": CLIENT_SECRETS["github"],
            "github_authorize_url": f"{self.base_url}/github/login/oauth/authorize",
            "github_token_url": f"{self.base_url}/github/login/oauth/access_token",
            "github_api_url": f"{self.base_url}/github/api",
            "google_client_id": CLIENT_IDS["google"],
            "google_client_secret": CLIENT_SECRETS["google"],
            "google_authorize_url": f"{self.base_url}/google/o/oauth2/v2/auth",
            "google_token_url": f"{self.base_url}/google/token",
            "google_userinfo_url": f"{self.base_url}/google/v1/userinfo",
        }

    def plaintext_tokens(self) -> list[str]:
        return [token for issued in self.issued for token in (issued.access_token, issued.refresh_token)]

    # What the handler calls, under the lock.

    def authorize(self, provider: str, params: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        account = params.get("account", "")
        accounts = self.github_accounts if provider == "github" else self.google_accounts
        if params.get("client_id") != CLIENT_IDS[provider] or account not in accounts:
            return 400, {}, {"error": "invalid_request"}
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(provider=provider, account=account, params=params)
        query = urlencode({"code": code, "state": params["state"]})
        return 302, {"Location": f"{params['redirect_uri']}?{query}"}, None

    def token(self, provider: str, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if form.get("client_id") != CLIENT_IDS[provider] or form.get("client_secret") != CLIENT_SECRETS[provider]:
            return 401, {}, {"error": "invalid_client"}
        grant = self.grants.get(form.get("code", ""))
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.provider != provider
            or grant.is_redeemed
            or form.get("redirect_uri") != grant.params["redirect_uri"]
            or grant.params.get("code_challenge_method") != "S256"
            or _s256(form.get("code_verifier", "")) != grant.params.get("code_challenge")
        ):
            # GitHub answers 200 with an error; Google (like RFC 6749) answers 400.
            if provider == "github":
                return 200, {}, {"error": "bad_verification_code"}
            return 400, {}, {"error": "invalid_grant"}
        grant.is_redeemed = True
        issued = IssuedTokens(
            provider=provider,
            account=grant.account,
            access_token=f"{provider}-access-{secrets.token_hex(12)}",
            refresh_token=f"{provider}-refresh-{secrets.token_hex(12)}",
        )
        self.issued.append(issued)
        scope = "read:user,user:email" if provider == "github" else "openid email profile"
        return (
            200,
            {},
            {
                "access_token": issued.access_token,
                "refresh_token": issued.refresh_token,
                "token_type": "bearer",
                "expires_in": 3600,
                "scope": scope,
            },
        )

    def account_for(self, provider: str, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return next(
            (i.account for i in self.issued if i.provider == provider and i.access_token == token),
            None,
        )


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        provider = self.server.provider
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        with self.server.lock:
            provider.requests.append(f"{self.command} {url.path}")
            failure = provider.outage_status or provider.failing_paths.get(url.path)
            if failure is not None:
                self._answer(failure, {}, provider.failure_body)
                return
            self._answer(*self._route(provider, url.path, query, body))

    def _route(
        self, provider: StandInProvider, path: str, query: dict[str, str], body: str
    ) -> tuple[int, dict[str, str], Any]:
        form = {key: values[-1] for key, values in parse_qs(body).items()}
        authorization = self.headers.get("Authorization", "")
        if (self.command, path) == ("GET", "/github/login/oauth/authorize"):
            return provider.authorize("github", query)
        if (self.command, path) == ("GET", "/google/o/oauth2/v2/auth"):
            return provider.authorize("google", query)
        if (self.command, path) == ("POST", "/github/login/oauth/access_token"):
            if self.headers.get("Accept") != "application/json":
                return 406, {}, {"error": "GitHub answers form-encoded unless asked for JSON"}
            return provider.token("github", form)
        if (self.command, path) == ("POST", "/google/token"):
            return provider.token("google", form)
        if path.startswith("/github/api/"):
            account = provider.account_for("github", authorization)
            if account is None:
                return 401, {}, {"message": "Bad credentials"}
            if path == "/github/api/user":
                return 200, {}, provider.github_accounts[account]
            if path == "/github/api/user/emails":
                return 200, {}, provider.github_emails.get(account, [])
        if (self.command, path) == ("GET", "/google/v1/userinfo"):
            account = provider.account_for("google", authorization)
            if account is None:
                return 401, {}, {"error": "invalid_token"}
            return 200, {}, provider.google_accounts[account]
        return 404, {}, {"message": "Not Found"}

    def _answer(self, status: int, headers: dict[str, str], payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: StandInProvider) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.provider = provider
        self.lock = threading.Lock()


class RunningProvider:
    """Serves a StandInProvider on 127.0.0.1 on a free port until stopped."""

    def __init__(self) -> None:
        self.provider = StandInProvider()
        self._server = _Server(self.provider)
        host, port = self._server.server_address[:2]
        self.provider.base_url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="stand-in-oauth", daemon=True)

    def __enter__(self) -> StandInProvider:
        self._thread.start()
        return self.provider

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
