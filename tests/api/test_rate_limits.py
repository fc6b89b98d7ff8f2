"""Rate limits on the routes anyone may call: per IP, per account, per recipient; shared through Redis or not."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis
from helpers import PASSWORD, bearer, free_port, register, serving
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

LOGIN = "/api/v1/auth/login"


@pytest.fixture(autouse=True)
def fresh_counters(redis_url: str) -> Iterator[None]:
    """Windows left by other tests (every test client calls from the same address) start from zero here."""

    def clear() -> None:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter("ap:rl:*"))
        if keys:
            client.delete(*keys)

    clear()
    yield
    clear()


def login(client: TestClient[Litestar] | httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post(LOGIN, json={"email": email, "password": password})


def start(make_settings: Callable[..., Settings], **overrides: object) -> TestClient[Litestar]:
    return TestClient(app=create_app(make_settings(**overrides)))


@contextmanager
def behind_proxy(make_settings: Callable[..., Settings], **overrides: object) -> Iterator[httpx.Client]:
    """The service on loopback, trusting loopback as its proxy: X-Forwarded-For says who the client is."""
    app = create_app(make_settings(trusted_proxies="127.0.0.1", **overrides))
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


DEFAULT_LIMITS = {name: Settings.model_fields[name].default for name in Settings.model_fields if "rate_limit" in name}
DEFAULT_COSTS = {
    name: Settings.model_fields[name].default
    for name in ("password_hash_time_cost", "password_hash_memory_kib", "password_hash_parallelism")
}


def test_failed_sign_ins_of_one_account_from_one_address_are_429_with_retry_after(
    make_settings: Callable[..., Settings],
) -> None:
    with start(make_settings, **DEFAULT_LIMITS) as client:
        register(client, "victim@example.com")
        cap = Settings.model_fields["rate_limit_failed_login_per_account_ip"].default.count
        statuses = [login(client, "victim@example.com", "wrong password").status_code for _ in range(cap)]
        assert statuses == [401] * cap
        refused = login(client, "victim@example.com", PASSWORD)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "rate_limited"
        assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
        # Another account from the same address is not held back by the victim's failures.
        register(client, "other@example.com")
        assert login(client, "other@example.com").status_code == 200


def test_failures_from_other_addresses_do_not_lock_the_owner_out_before_the_account_cap(
    make_settings: Callable[..., Settings],
) -> None:
    # Behind a trusted proxy, each attacker address is its own (account, IP) window; the owner's is untouched
    # until the account's higher cap is reached.
    with behind_proxy(
        make_settings,
        rate_limit_failed_login_per_account_ip="2/hour",
        rate_limit_failed_login_per_account="6/hour",
    ) as client:
        register(client, "owner@example.com")

        def from_ip(ip: str, password: str) -> int:
            return client.post(
                LOGIN, json={"email": "owner@example.com", "password": password}, headers={"X-Forwarded-For": ip}
            ).status_code

        assert [from_ip("203.0.113.1", "guess") for _ in range(3)] == [401, 401, 429]
        assert [from_ip("203.0.113.2", "guess") for _ in range(2)] == [401, 401]
        assert from_ip("198.51.100.7", PASSWORD) == 200  # 4 failures: below the account's cap of 6
        assert [from_ip("203.0.113.3", "guess") for _ in range(2)] == [401, 401]
        assert from_ip("198.51.100.7", PASSWORD) == 429  # 6 failures: the account's cap


def test_a_flood_of_logins_at_the_default_limits_gets_429s(make_settings: Callable[..., Settings]) -> None:
    per_ip = Settings.model_fields["rate_limit_login_per_ip"].default.count
    with start(make_settings, **DEFAULT_LIMITS) as client:
        statuses = [login(client, f"nobody{n}@example.com", "wrong").status_code for n in range(per_ip + 5)]
    assert statuses[:per_ip] == [401] * per_ip
    assert statuses[per_ip:] == [429] * 5


def test_the_limits_are_shared_by_two_instances_through_redis(make_settings: Callable[..., Settings]) -> None:
    limits = {"rate_limit_register_per_ip": "3/hour"}
    with start(make_settings, **limits) as first, start(make_settings, **limits) as second:
        register(first, "a@example.com")
        register(second, "b@example.com")
        register(first, "c@example.com")
        refused = second.post("/api/v1/auth/register", json={"email": "d@example.com", "password": PASSWORD})
        assert refused.status_code == 429, refused.text
        assert (
            first.post("/api/v1/auth/register", json={"email": "e@example.com", "password": PASSWORD}).status_code
            == 429
        )


@pytest.mark.parametrize("redis_setting", ["off", f"redis://127.0.0.1:{free_port()}/0"], ids=["no-redis", "redis-down"])
def test_without_redis_each_instance_applies_its_own_limits(
    make_settings: Callable[..., Settings], redis_setting: str
) -> None:
    limits = {"rate_limit_register_per_ip": "2/hour", "redis_url": redis_setting}
    with start(make_settings, **limits) as first, start(make_settings, **limits) as second:
        for client, emails in ((first, ("a", "b", "c")), (second, ("d", "e", "f"))):
            statuses = [
                client.post(
                    "/api/v1/auth/register", json={"email": f"{e}@example.com", "password": PASSWORD}
                ).status_code
                for e in emails
            ]
            # Never unlimited, never a 5xx: the third from this address is refused by this instance.
            assert statuses == [201, 201, 429]


def test_reset_mails_to_one_address_are_limited_whoever_asks(make_settings: Callable[..., Settings]) -> None:
    per_recipient = Settings.model_fields["rate_limit_mail_per_recipient"].default.count
    with behind_proxy(
        make_settings,
        rate_limit_mail_per_recipient=DEFAULT_LIMITS["rate_limit_mail_per_recipient"],
    ) as client:
        register(client, "target@example.com")

        def ask(ip: str, email: str = "target@example.com") -> httpx.Response:
            return client.post("/api/v1/auth/password-resets", json={"email": email}, headers={"X-Forwarded-For": ip})

        assert [ask(f"203.0.113.{n}").status_code for n in range(per_recipient)] == [202] * per_recipient
        refused = ask("198.51.100.1")
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        # An address without an account is limited alike: a 429 tells nothing about accounts.
        assert [ask("198.51.100.2", "nobody@example.com").status_code for _ in range(per_recipient + 1)][-1] == 429


def test_invitation_mails_per_recipient_and_pending_invitations_per_org_are_capped(
    make_settings: Callable[..., Settings],
) -> None:
    limits = {"rate_limit_mail_per_recipient": "2/hour", "max_pending_invitations_per_org": 3}
    # No SIGNUP_ORG: the owner owns an org of their own and invites to it.
    with start(make_settings, signup_org=None, **limits) as client:
        owner = register(client, "owner@example.com")
        org_id = client.get("/api/v1/orgs", headers=bearer(owner["token"])).json()["items"][0]["id"]
        path = f"/api/v1/orgs/{org_id}/invitations"

        def invite(email: str) -> httpx.Response:
            return client.post(path, json={"email": email, "role": "member"}, headers=bearer(owner["token"]))

        assert invite("friend@example.com").status_code == 201
        assert invite("friend@example.com").status_code == 201
        assert invite("friend@example.com").status_code == 429
        assert invite("second@example.com").status_code == 201
        full = invite("third@example.com")
        assert full.status_code == 409 and full.json()["code"] == "limit_reached", full.text
        listed = client.get(path, headers=bearer(owner["token"])).json()
        assert listed["total"] == 3


def test_a_login_flood_at_the_default_cost_leaves_connections_for_other_requests(
    make_settings: Callable[..., Settings],
) -> None:
    """40 clients signing in with wrong passwords at argon2's default cost, while a signed-in user reads: every
    read succeeds. Before, each login held a pooled connection while it hashed, and reads got 503."""
    settings = make_settings(pool_max_size=4, pool_timeout=1.0, **DEFAULT_COSTS)
    with serving(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as reader:
        token = reader.post("/api/v1/auth/register", json={"email": "reader@example.com", "password": PASSWORD})
        assert token.status_code == 201, token.text
        headers = bearer(token.json()["token"])
        flood_statuses: list[int] = []

        def flood(n: int) -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                for attempt in range(2):
                    flood_statuses.append(login(client, f"flood{n}-{attempt}@example.com", "wrong").status_code)

        read_statuses: list[int] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
            futures = [pool.submit(flood, n) for n in range(40)]
            while not all(future.done() for future in futures) and len(read_statuses) < 200:
                read_statuses.append(reader.get("/api/v1/auth/me", headers=headers).status_code)
            for future in futures:
                future.result()
    assert len(flood_statuses) == 80
    assert set(flood_statuses) <= {401, 503}, flood_statuses
    assert read_statuses and set(read_statuses) == {200}, read_statuses


def test_the_hashing_queue_refuses_past_its_bound_with_503(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(password_hash_concurrency=1, password_hash_queue=0, **DEFAULT_COSTS)
    with serving(create_app(settings)) as url, concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(
            pool.map(lambda n: login(httpx.Client(base_url=url, timeout=60), f"x{n}@example.com", "wrong"), range(20))
        )
    statuses = {response.status_code for response in responses}
    assert statuses == {401, 503}, statuses
    busy = next(response for response in responses if response.status_code == 503)
    assert busy.json()["code"] == "busy" and busy.headers["Retry-After"]


def test_register_and_oauth_start_and_reset_confirm_are_limited_per_address(
    make_settings: Callable[..., Settings],
) -> None:
    limits = {
        "rate_limit_register_per_ip": "1/hour",
        "rate_limit_password_reset_confirm_per_ip": "1/hour",
        "rate_limit_oauth_start_per_ip": "1/hour",
        "github_client_id": "id",
        "github_client_secret": "secret",
    }
    with start(make_settings, **limits) as client:
        register(client, "one@example.com")
        assert (
            client.post("/api/v1/auth/register", json={"email": "two@example.com", "password": PASSWORD}).status_code
            == 429
        )
        confirm = {"token": "made-up", "password": PASSWORD}
        assert client.post("/api/v1/auth/password-resets/confirm", json=confirm).status_code == 400
        assert client.post("/api/v1/auth/password-resets/confirm", json=confirm).status_code == 429
        assert client.get("/api/v1/auth/oauth/github/start", follow_redirects=False).status_code == 302
        assert client.get("/api/v1/auth/oauth/github/start", follow_redirects=False).status_code == 429
