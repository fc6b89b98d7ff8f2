"""Who a new user is: nobody becomes a platform admin by coming first, admins come from the operator, and each
new user gets an org of their own unless SIGNUP_ORG names a shared one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from helpers import PASSWORD, bearer, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.settings import Settings
from agentpress.web.app import create_app

API = "/api/v1"


@pytest.fixture
def private_client(make_settings: Callable[..., Settings]) -> Iterator[TestClient[Litestar]]:
    """The service with its default settings for sign-up: no SIGNUP_ORG."""
    with TestClient(app=create_app(make_settings(signup_org=None))) as client:
        yield client


def memberships(database_url: str) -> dict[str, list[tuple[str, str, bool]]]:
    """Each user's email → their (org slug, role, org is the default) memberships."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT u.email::text, o.slug, m.role, o.is_default FROM org_members AS m "
            "JOIN users AS u ON u.id = m.user_id JOIN orgs AS o ON o.id = m.org_id ORDER BY u.email"
        ).fetchall()
    result: dict[str, list[tuple[str, str, bool]]] = {}
    for email, slug, role, is_default in rows:
        result.setdefault(email, []).append((slug, role, is_default))
    return result


def test_the_first_user_is_no_admin_and_each_new_user_owns_an_org_of_their_own(
    private_client: TestClient[Litestar], database_url: str
) -> None:
    first = register(private_client, "first@example.com", first_name="Ada")
    second = register(private_client, "second@example.com")
    assert (first["user"]["role"], second["user"]["role"]) == ("user", "user")
    joined = memberships(database_url)
    assert set(joined) == {"first@example.com", "second@example.com"}
    for email in joined:
        [(slug, role, is_default)] = joined[email]
        assert (role, is_default) == ("owner", False)
        assert slug.startswith("personal-")
    assert joined["first@example.com"] != joined["second@example.com"]
    # Each sees their own org alone, named without their email, and acts there when naming none.
    orgs = private_client.get(f"{API}/orgs", headers=bearer(first["token"])).json()["items"]
    assert [(org["name"], org["role"]) for org in orgs] == [("Ada's org", "owner")]
    second_orgs = private_client.get(f"{API}/orgs", headers=bearer(second["token"])).json()["items"]
    assert [org["name"] for org in second_orgs] == ["Personal"]
    agent = private_client.post(f"{API}/agents", json={"name": "Mine"}, headers=bearer(first["token"]))
    assert agent.status_code == 201
    assert agent.json()["org_id"] == orgs[0]["id"]
    assert private_client.get(f"{API}/agents/{agent.json()['id']}", headers=bearer(second["token"])).status_code == 404
    listed = private_client.get(f"{API}/orgs/{second_orgs[0]['id']}/members", headers=bearer(first["token"]))
    assert listed.status_code == 404


def test_with_signup_org_new_users_join_it_as_members(client: TestClient[Litestar], database_url: str) -> None:
    # The test settings name the default org.
    first = register(client, "first@example.com")["user"]
    second = register(client, "second@example.com")["user"]
    assert (first["role"], second["role"]) == ("user", "user")
    assert memberships(database_url) == {
        "first@example.com": [("default", "member", True)],
        "second@example.com": [("default", "member", True)],
    }


def test_a_signup_org_that_does_not_exist_stops_the_service_from_starting(
    make_settings: Callable[..., Settings],
) -> None:
    with pytest.raises(BaseException) as raised, TestClient(app=create_app(make_settings(signup_org="nowhere"))):
        pass
    # Litestar reports a failed startup as a group of the lifespan's errors.
    assert "SIGNUP_ORG is 'nowhere', but no org has that slug" in repr(raised.value)


def test_the_bootstrap_admin_is_created_once_at_startup(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(
        signup_org=None, bootstrap_admin_email="root@example.com", bootstrap_admin_password="a long admin password"
    )
    for _ in range(2):  # a second start (or a second process) finds the account and leaves it alone
        with TestClient(app=create_app(settings)) as client:
            signed_in = client.post(
                f"{API}/auth/login", json={"email": "root@example.com", "password": "a long admin password"}
            )
            assert signed_in.status_code == 200, signed_in.text
            assert (signed_in.json()["user"]["role"], signed_in.json()["user"]["is_email_verified"]) == ("admin", True)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
    assert [role for _, role, _ in memberships(database_url)["root@example.com"]] == ["owner"]


def run_cli(database_url: str, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "off",
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
    }
    env["PASSWORD_HASH_PARALLELISM"] = "1"
    env.pop("SIGNUP_ORG", None)
    return subprocess.run(
        [sys.executable, "-m", "agentpress.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_operator_creates_the_first_admin_from_the_command_line(
    private_client: TestClient[Litestar], database_url: str
) -> None:
    created = run_cli(database_url, "users", "create", "--admin", "root@example.com", stdin=f"{PASSWORD}\n")
    assert created.returncode == 0, created.stderr
    assert "created platform admin root@example.com" in created.stdout
    signed_in = private_client.post(f"{API}/auth/login", json={"email": "root@example.com", "password": PASSWORD})
    assert signed_in.status_code == 200
    user: dict[str, Any] = signed_in.json()["user"]
    assert (user["role"], user["is_email_verified"]) == ("admin", True)
    users = private_client.get(f"{API}/users", headers=bearer(signed_in.json()["token"]))
    assert users.status_code == 200
    # The same email again is refused and changes nothing; so is a password under the minimum.
    again = run_cli(database_url, "users", "create", "--admin", "ROOT@example.com", stdin=f"{PASSWORD}\n")
    assert (again.returncode, "already has an account" in again.stderr) == (1, True)
    short = run_cli(database_url, "users", "create", "bob@example.com", stdin="short\n")
    assert short.returncode == 2
    assert "password must be at least" in short.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
