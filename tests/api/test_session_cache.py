"""The session cache against real Redis and PostgreSQL: a verified session, API key or org access is read from
PostgreSQL once and then from Redis; every change to them (sign-out, revocations, a disabled user, a platform
or org role, a membership gained or lost, an org deleted, a password reset, an API key revoked, an address
verified) is seen by the very next request; a cached GET /threads/{id} sends PostgreSQL no statement.

Each test warms the cache first and checks that the entry is in Redis, so that a 401 or 404 afterwards is the
invalidation's doing and not a miss.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import redis
from helpers import PASSWORD, People, bearer, forget_cached_credentials, link_token, outbox_bodies, verify_email
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.db.queries import queries
from agentpress.db.querystats import query_names, statement_name
from agentpress.services.crypto import hash_token, new_token
from agentpress.settings import Settings
from agentpress.web.access import access_key, api_key_key, session_key
from agentpress.web.app import create_app
from agentpress.web.lifespan import resources

API = "/api/v1"
ME = f"{API}/auth/me"
KEYS = f"{API}/api-keys"
CLAIM = f"{API}/tasks/claim"
CACHE_SECONDS = Settings.model_fields["session_cache_seconds"].default


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient[Litestar]]:
    """The service with the session cache on (the test settings turn it off for the rest of the suite)."""
    with TestClient(app=create_app(make_settings(session_cache_seconds=CACHE_SECONDS))) as test_client:
        yield test_client


@pytest.fixture
def people(people_factory: People) -> People:
    people = people_factory
    people.add("owner", org_role="owner")
    people.add("manager", org_role="admin")
    people.add("member")
    return people


def token(people: People, who: str) -> str:
    found: str = people[who]["token"]
    return found


def user_id(people: People, who: str) -> str:
    found: str = people[who]["user"]["id"]
    return found


def cached_session(redis_client: redis.Redis, session_token: str) -> bool:
    raw = redis_client.get(session_key(hash_token(session_token)))
    return raw is not None and not raw.startswith(b"ap-invalidated:")


def warm(people: People, redis_client: redis.Redis, who: str, org_id: str | None = None) -> None:
    """Sign a request as `who` (in `org_id`), twice: the second is answered from the cache."""
    for _ in range(2):
        response = people.client.get(f"{API}/threads", headers=people.headers(who, org_id))
        assert response.status_code == 200, response.text
    assert cached_session(redis_client, token(people, who))
    if org_id is not None:
        assert redis_client.exists(access_key(org_id=org_id, user_id=user_id(people, who)))  # type: ignore[arg-type]


def login(client: TestClient[Litestar], email: str) -> str:
    response = client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    found: str = response.json()["token"]
    return found


def test_a_session_is_read_from_postgresql_once_then_from_redis(
    people: People, redis_client: redis.Redis, database_url: str
) -> None:
    warm(people, redis_client, "member")
    ttl = redis_client.ttl(session_key(hash_token(token(people, "member"))))
    assert 0 < ttl <= CACHE_SECONDS
    # A change behind the service's back is not seen while the entry lives: the reads are Redis's.
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE sessions SET revoked_at = now()")
    assert people.client.get(ME, headers=people.headers("member")).status_code == 200
    # An epoch bump forgets every entry (what an operator does after such a change).
    forget_cached_credentials(people.client.app.state.settings.redis_url)
    assert people.client.get(ME, headers=people.headers("member")).status_code == 401


def test_sign_out_is_401_at_once(people: People, redis_client: redis.Redis) -> None:
    warm(people, redis_client, "member")
    assert people.client.post(f"{API}/auth/logout", headers=people.headers("member")).status_code == 204
    assert people.client.get(ME, headers=people.headers("member")).status_code == 401


def test_sign_out_everywhere_and_revoking_one_session_are_401_at_once(
    people: People, redis_client: redis.Redis
) -> None:
    client = people.client
    second, third = login(client, "member@example.com"), login(client, "member@example.com")
    warm(people, redis_client, "member")
    for other in (second, third):
        assert client.get(ME, headers=bearer(other)).status_code == 200
        assert cached_session(redis_client, other)
    sessions = client.get(f"{API}/auth/sessions", headers=bearer(third)).json()
    first_id = next(s["id"] for s in sessions if s["created_at"] == min(s["created_at"] for s in sessions))
    assert client.delete(f"{API}/auth/sessions/{first_id}", headers=bearer(third)).status_code == 204
    assert client.get(ME, headers=people.headers("member")).status_code == 401
    assert client.get(ME, headers=bearer(second)).status_code == 200
    assert client.post(f"{API}/auth/sessions/revoke-all", headers=bearer(third)).status_code == 204
    assert client.get(ME, headers=bearer(second)).status_code == 401
    assert client.get(ME, headers=bearer(third)).status_code == 401


def test_a_disabled_user_is_401_at_once(people: People, redis_client: redis.Redis) -> None:
    warm(people, redis_client, "member")
    url = f"{API}/users/{user_id(people, 'member')}"
    assert people.client.patch(url, json={"is_disabled": True}, headers=people.headers("admin")).status_code == 200
    assert people.client.get(ME, headers=people.headers("member")).status_code == 401


def test_a_platform_role_change_is_seen_at_once(people: People, redis_client: redis.Redis) -> None:
    warm(people, redis_client, "member")
    url = f"{API}/users/{user_id(people, 'member')}"
    assert people.client.patch(url, json={"role": "guest"}, headers=people.headers("admin")).status_code == 200
    assert people.client.get(ME, headers=people.headers("member")).json()["role"] == "guest"
    refused = people.client.post(f"{API}/threads", json={}, headers=people.headers("member"))
    assert refused.status_code == 403


def test_an_org_role_change_is_seen_at_once_in_the_home_org_and_by_x_org_id(
    people: People, redis_client: redis.Redis
) -> None:
    org_id = people.default_org
    for where in (None, org_id):
        assert people.client.get(KEYS, headers=people.headers("manager", where)).status_code == 200
    warm(people, redis_client, "manager", org_id)
    member_url = f"{API}/orgs/{org_id}/members/{user_id(people, 'manager')}"
    demoted = people.client.patch(member_url, json={"role": "member"}, headers=people.headers("owner"))
    assert demoted.status_code == 200, demoted.text
    for where in (None, org_id):
        assert people.client.get(KEYS, headers=people.headers("manager", where)).status_code == 403


def test_a_removed_member_is_404_at_once(people: People, redis_client: redis.Redis) -> None:
    org_id = people.default_org
    warm(people, redis_client, "member", org_id)
    member_url = f"{API}/orgs/{org_id}/members/{user_id(people, 'member')}"
    assert people.client.delete(member_url, headers=people.headers("owner")).status_code == 204
    for where in (None, org_id):
        response = people.client.get(f"{API}/threads", headers=people.headers("member", where))
        assert response.status_code == 404, response.text


def test_an_accepted_invitation_is_seen_at_once(people: People, redis_client: redis.Redis, database_url: str) -> None:
    client = people.client
    other = people.org("Other", owner="owner")
    verify_email(database_url, "member@example.com")
    forget_cached_credentials(client.app.state.settings.redis_url)  # verified in SQL
    # Not a member yet: 404, and the answer (no role there) is cached.
    assert client.get(f"{API}/threads", headers=people.headers("member", other["id"])).status_code == 404
    assert redis_client.exists(access_key(org_id=other["id"], user_id=user_id(people, "member")))
    invited = client.post(
        f"{API}/orgs/{other['id']}/invitations",
        json={"email": "member@example.com", "role": "member"},
        headers=people.headers("owner", other["id"]),
    )
    assert invited.status_code == 201, invited.text
    invitation = link_token(outbox_bodies(database_url, kind="invitation", to_email="member@example.com")[-1])
    accepted = client.post(f"{API}/invitations/accept", json={"token": invitation}, headers=people.headers("member"))
    assert accepted.status_code == 200, accepted.text
    assert client.get(f"{API}/threads", headers=people.headers("member", other["id"])).status_code == 200


def test_a_verified_address_is_seen_at_once(people: People, redis_client: redis.Redis, database_url: str) -> None:
    client = people.client
    warm(people, redis_client, "member")
    assert client.get(ME, headers=people.headers("member")).json()["is_email_verified"] is False
    assert client.post(f"{API}/auth/email-verifications", headers=people.headers("member")).status_code == 202
    body = outbox_bodies(database_url, kind="email_verification", to_email="member@example.com")[-1]
    confirmed = client.post(f"{API}/auth/email-verifications/confirm", json={"token": link_token(body)})
    assert confirmed.status_code == 204, confirmed.text
    assert client.get(ME, headers=people.headers("member")).json()["is_email_verified"] is True


def test_deleting_an_org_is_seen_at_once_by_its_members_and_keys(
    people: People, redis_client: redis.Redis, database_url: str
) -> None:
    client = people.client
    doomed = people.org("Doomed", owner="owner")
    key = people.api_key("owner", ["tasks:work"], org_id=doomed["id"])
    for _ in range(2):
        assert client.post(CLAIM, json={"worker_id": "w"}, headers=key).status_code == 200
    assert redis_client.exists(api_key_key(hash_token(key["Authorization"].removeprefix("Bearer "))))
    warm(people, redis_client, "owner", doomed["id"])
    assert client.delete(f"{API}/orgs/{doomed['id']}", headers=people.headers("owner")).status_code == 204
    assert client.get(f"{API}/threads", headers=people.headers("owner", doomed["id"])).status_code == 404
    assert client.post(CLAIM, json={"worker_id": "w"}, headers=key).status_code == 401
    # The owner's other sessions and orgs are untouched.
    assert client.get(f"{API}/threads", headers=people.headers("owner")).status_code == 200


def test_a_revoked_api_key_is_401_at_once(people: People, redis_client: redis.Redis) -> None:
    client = people.client
    key = people.api_key("manager", ["tasks:work"])
    for _ in range(2):
        assert client.post(CLAIM, json={"worker_id": "w"}, headers=key).status_code == 200
    assert redis_client.exists(api_key_key(hash_token(key["Authorization"].removeprefix("Bearer "))))
    key_id = client.get(KEYS, headers=people.headers("manager")).json()["items"][0]["id"]
    assert client.post(f"{KEYS}/{key_id}/revoke", headers=people.headers("manager")).status_code == 200
    assert client.post(CLAIM, json={"worker_id": "w"}, headers=key).status_code == 401


def test_a_password_reset_is_401_at_once(people: People, redis_client: redis.Redis, database_url: str) -> None:
    warm(people, redis_client, "member")
    reset = new_token()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES (%s, %s, %s)",
            [user_id(people, "member"), hash_token(reset), datetime.now(UTC) + timedelta(hours=1)],
        )
    confirmed = people.client.post(
        f"{API}/auth/password-resets/confirm", json={"token": reset, "password": "a brand new passphrase"}
    )
    assert confirmed.status_code == 204, confirmed.text
    assert people.client.get(ME, headers=people.headers("member")).status_code == 401


@pytest.fixture
def quiet_client(make_settings: Callable[..., Settings]) -> Iterator[TestClient[Litestar]]:
    """The service with its background loops asleep: what PostgreSQL sees comes from the requests."""
    # A slow Redis answer (a busy test machine) would send the read to PostgreSQL: here it waits.
    settings = make_settings(
        outbox_poll_seconds=3600,
        password_reset_poll_seconds=3600,
        redis_timeout_ms=5000,
        session_cache_seconds=CACHE_SECONDS,
    )
    with TestClient(app=create_app(settings)) as client:
        yield client


def statement_calls(database_url: str) -> dict[str, int]:
    """What pg_stat_statements has counted in this database, by statement (named queries by name)."""
    names = query_names(queries)
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query, sum(calls)::bigint FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY query"
        ).fetchall()
    counted: dict[str, int] = {}
    for text, calls in rows:
        if "pg_stat_statements" not in text:  # this function's own reads
            name = statement_name(text, names)
            counted[name] = counted.get(name, 0) + int(calls)
    return counted


def test_a_cached_get_thread_and_first_messages_page_send_postgresql_no_statement(
    quiet_client: TestClient[Litestar], database_url: str
) -> None:
    client = quiet_client
    signed_in = client.post(f"{API}/auth/register", json={"email": "ada@example.com", "password": PASSWORD}).json()
    headers = bearer(signed_in["token"])
    thread = client.post(f"{API}/threads", json={"name": "cached"}, headers=headers).json()
    url = f"{API}/threads/{thread['id']}"
    body = {"messages": [{"role": "user", "parts": [{"type": "text", "text": "hello"}]}]}
    assert client.post(f"{url}/messages", json=body, headers=headers).status_code == 201
    # Fill the thread's entry and the first messages'.
    assert client.get(url, headers=headers).status_code == 200
    assert client.get(f"{url}/messages", headers=headers).status_code == 200
    time.sleep(0.2)  # the loops' first rounds, at startup, are over
    before = statement_calls(database_url)
    for _ in range(20):
        assert client.get(url, headers=headers).status_code == 200
        assert client.get(f"{url}/messages", params={"page_size": 20}, headers=headers).status_code == 200
    after = statement_calls(database_url)
    sent = {name: calls - before.get(name, 0) for name, calls in after.items() if calls != before.get(name, 0)}
    assert sent == {}


def test_a_cached_session_due_for_its_last_seen_write_sends_that_write_only(
    quiet_client: TestClient[Litestar], database_url: str, redis_url: str
) -> None:
    client = quiet_client
    signed_in = client.post(f"{API}/auth/register", json={"email": "ada@example.com", "password": PASSWORD}).json()
    headers = bearer(signed_in["token"])
    assert client.get(ME, headers=headers).status_code == 200
    # The cached entry says the session was last seen two minutes ago (the entry is "<epoch>|<json>").
    key = session_key(hash_token(signed_in["token"]))
    store = redis.Redis.from_url(redis_url)
    epoch, _, entry = store.get(key).partition(b"|")  # type: ignore[union-attr]
    user = json.loads(entry)
    user["session_last_seen_at"] = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    store.set(key, epoch + b"|" + json.dumps(user).encode(), keepttl=True)
    time.sleep(0.2)
    before = statement_calls(database_url)
    for _ in range(5):
        assert client.get(ME, headers=headers).status_code == 200
    after = statement_calls(database_url)
    sent = {name: calls - before.get(name, 0) for name, calls in after.items() if calls != before.get(name, 0)}
    # One write, and the entry now holds its time: the four requests after it send nothing.
    assert sent == {"sessions.touch_session": 1}
    assert json.loads(store.get(key).partition(b"|")[2])["session_last_seen_at"] > user["session_last_seen_at"]  # type: ignore[union-attr]
    store.close()


def test_a_cached_get_thread_and_first_messages_page_hold_no_pool_connection(
    quiet_client: TestClient[Litestar],
) -> None:
    client = quiet_client
    signed_in = client.post(f"{API}/auth/register", json={"email": "ada@example.com", "password": PASSWORD}).json()
    headers = bearer(signed_in["token"])
    thread = client.post(f"{API}/threads", json={"name": "cached"}, headers=headers).json()
    url = f"{API}/threads/{thread['id']}"
    assert client.get(url, headers=headers).status_code == 200
    assert client.get(f"{url}/messages", headers=headers).status_code == 200
    # Every connection of the pool held elsewhere: a request that took one would wait POOL_TIMEOUT, then 503.
    pool = resources(client.app.state).pool
    with client.portal() as portal:
        held = [portal.call(pool.getconn) for _ in range(pool.max_size)]
        try:
            assert client.get(url, headers=headers).json()["id"] == thread["id"]
            assert client.get(f"{url}/messages", headers=headers).json() == {"items": [], "next_cursor": None}
        finally:
            for conn in held:
                portal.call(pool.putconn, conn)
