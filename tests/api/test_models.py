"""Models: of the org's own providers, ranges checked by the database, one default per org, roles and tenancy."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from helpers import People, bearer
from litestar import Litestar
from litestar.testing import TestClient

API = "/api/v1"
MODELS = f"{API}/models"
MODEL_FIELDS = {
    "id",
    "org_id",
    "provider_id",
    "name",
    "display_name",
    "base_model",
    "temperature",
    "max_tokens",
    "is_enabled",
    "is_default",
    "created_at",
    "updated_at",
}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
# Stands for the id of the default org's provider anthropic in parameters, which are made before it exists.
ANTHROPIC = "<anthropic>"


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: admin (platform admin and owner), member, and guest (a member who is a platform guest),
    with the providers anthropic and openai. other owns the org acme, with its own provider anthropic."""
    people = people_factory
    people.add("member")
    people.add("guest", platform_role="guest")
    people.add("other")
    people["acme"] = people.org("Acme", owner="other")
    providers = {}
    for key, who, org, name in [
        ("anthropic", "admin", None, "anthropic"),
        ("openai", "admin", None, "openai"),
        ("acme_anthropic", "other", "acme", "anthropic"),
    ]:
        response = send(people, "POST", f"{API}/model-providers", who, org, json={"name": name, "kind": name})
        assert response.status_code == 201, response.text
        providers[key] = response.json()["id"]
    people["providers"] = providers
    return people


def headers(people: dict[str, Any], who: str, org: str | None = None) -> dict[str, str]:
    """`who`'s bearer token, acting in their home org or in `org` ("acme")."""
    found = bearer(people[who]["token"])
    if org is not None:
        found["X-Org-Id"] = people[org]["id"]
    return found


def send(people: dict[str, Any], method: str, path: str, who: str, org: str | None = None, **kwargs: Any) -> Any:
    client: TestClient[Litestar] = people["client"]
    response: httpx.Response = client.request(method, path, headers=headers(people, who, org), **kwargs)
    if response.status_code in (200, 201) and path.startswith(MODELS):
        body = response.json()
        for model in body.get("items", [body]):
            assert set(model) == MODEL_FIELDS, model
    return response


def create(
    people: dict[str, Any], provider: str = "anthropic", who: str = "admin", org: str | None = None, **fields: Any
) -> dict[str, Any]:
    payload = {"provider_id": people["providers"][provider], "name": "claude-3-sonnet", **fields}
    response = send(people, "POST", MODELS, who, org, json=payload)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def count(database_url: str, name: str | None = None) -> int:
    """How many models there are in all orgs, or with this name."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM models WHERE %(name)s::text IS NULL OR name = %(name)s", {"name": name}
        )
        found = row.fetchone()
    assert found is not None
    return int(found[0])


def defaults(database_url: str) -> dict[str, str]:
    """The default model's name in each org that has one, by org id."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT org_id::text, name FROM models WHERE is_default").fetchall()
    return dict(rows)


def test_a_model_is_created_and_read_back(people: dict[str, Any]) -> None:
    created = create(
        people,
        name="claude-3-5-sonnet-20241022",
        display_name="Claude 3.5 Sonnet",
        base_model="claude-3-5-sonnet",
        temperature=0.7,
        max_tokens=4096,
    )
    assert created["provider_id"] == people["providers"]["anthropic"]
    assert (created["name"], created["display_name"], created["base_model"]) == (
        "claude-3-5-sonnet-20241022",
        "Claude 3.5 Sonnet",
        "claude-3-5-sonnet",
    )
    assert (created["temperature"], created["max_tokens"]) == (0.7, 4096)
    assert (created["is_enabled"], created["is_default"]) == (True, False)
    got = send(people, "GET", f"{MODELS}/{created['id']}", "admin")
    assert got.status_code == 200
    assert got.json() == created
    bare = create(people, "openai", name="gpt-4o")
    assert [bare[field] for field in ("display_name", "base_model", "temperature", "max_tokens")] == [None] * 4
    assert bare["org_id"] == created["org_id"]


def test_models_are_listed_by_name_in_pages_and_filtered(people: dict[str, Any]) -> None:
    create(people, name="claude-3-sonnet")
    create(people, name="claude-3-haiku", is_enabled=False)
    create(people, "openai", name="gpt-4o")
    create(people, "openai", name="claude-3-haiku")  # the same name at another provider
    create(people, "acme_anthropic", "other", "acme", name="claude-2")  # another org's: never listed here

    first = send(people, "GET", MODELS, "admin", params={"page_size": 3}).json()
    assert [m["name"] for m in first["items"]] == ["claude-3-haiku", "claude-3-haiku", "claude-3-sonnet"]
    assert (first["total"], first["page"], first["page_size"]) == (4, 1, 3)
    second = send(people, "GET", MODELS, "admin", params={"page": 2, "page_size": 3}).json()
    assert ([m["name"] for m in second["items"]], second["total"]) == (["gpt-4o"], 4)
    beyond = send(people, "GET", MODELS, "admin", params={"page": 3, "page_size": 3}).json()
    assert beyond == {"items": [], "total": 4, "page": 3, "page_size": 3}
    assert send(people, "GET", MODELS, "admin").json()["page_size"] == 20

    openai = send(people, "GET", MODELS, "admin", params={"provider_id": people["providers"]["openai"]}).json()
    assert ([m["name"] for m in openai["items"]], openai["total"]) == (["claude-3-haiku", "gpt-4o"], 2)
    disabled = send(people, "GET", MODELS, "admin", params={"is_enabled": "false"}).json()
    assert ([m["name"] for m in disabled["items"]], disabled["total"]) == (["claude-3-haiku"], 1)
    both = send(
        people,
        "GET",
        MODELS,
        "admin",
        params={"provider_id": people["providers"]["anthropic"], "is_enabled": "true"},
    ).json()
    assert ([m["name"] for m in both["items"]], both["total"]) == (["claude-3-sonnet"], 1)
    # Another org's provider has no models here.
    theirs = send(people, "GET", MODELS, "admin", params={"provider_id": people["providers"]["acme_anthropic"]})
    assert theirs.json() == {"items": [], "total": 0, "page": 1, "page_size": 20}
    acme = send(people, "GET", MODELS, "other", "acme").json()
    assert ([m["name"] for m in acme["items"]], acme["total"]) == (["claude-2"], 1)


@pytest.mark.parametrize(
    "params",
    [{"page": 0}, {"page_size": 0}, {"page_size": 101}, {"provider_id": "nope"}, {"is_enabled": "perhaps"}],
)
def test_bad_list_parameters_are_400(people: dict[str, Any], params: dict[str, Any]) -> None:
    response = send(people, "GET", MODELS, "admin", params=params)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == list(params)


def test_a_provider_of_another_org_or_unknown_is_422_naming_provider_id(
    people: dict[str, Any], database_url: str
) -> None:
    for provider_id in (people["providers"]["acme_anthropic"], UNKNOWN_ID):
        response = send(people, "POST", MODELS, "admin", json={"provider_id": provider_id, "name": "claude-3-opus"})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_reference"
        assert [error["field"] for error in response.json()["errors"]] == ["provider_id"]
    ours = create(people)
    for provider_id in (people["providers"]["acme_anthropic"], UNKNOWN_ID):
        moved = send(people, "PATCH", f"{MODELS}/{ours['id']}", "admin", json={"provider_id": provider_id})
        assert moved.status_code == 422, moved.text
        assert [error["field"] for error in moved.json()["errors"]] == ["provider_id"]
    assert send(people, "GET", f"{MODELS}/{ours['id']}", "admin").json() == ours
    moved = send(
        people, "PATCH", f"{MODELS}/{ours['id']}", "admin", json={"provider_id": people["providers"]["openai"]}
    )
    assert (moved.status_code, moved.json()["provider_id"]) == (200, people["providers"]["openai"])
    assert count(database_url) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.01}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": -5}, "max_tokens"),
    ],
)
def test_temperature_and_max_tokens_out_of_range_are_422_naming_the_field(
    people: dict[str, Any], database_url: str, fields: dict[str, Any], field: str
) -> None:
    payload = {"provider_id": people["providers"]["anthropic"], "name": "claude-3-opus", **fields}
    response = send(people, "POST", MODELS, "admin", json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_value"
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert count(database_url) == 0
    created = create(people)
    changed = send(people, "PATCH", f"{MODELS}/{created['id']}", "admin", json=fields)
    assert changed.status_code == 422, changed.text
    assert [error["field"] for error in changed.json()["errors"]] == [field]
    assert send(people, "GET", f"{MODELS}/{created['id']}", "admin").json() == created


def test_the_range_limits_themselves_are_accepted(people: dict[str, Any]) -> None:
    low = create(people, name="low", temperature=0, max_tokens=1)
    high = create(people, name="high", temperature=2, max_tokens=2_147_483_647)
    assert (low["temperature"], low["max_tokens"]) == (0, 1)
    assert (high["temperature"], high["max_tokens"]) == (2, 2_147_483_647)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "claude"}, "provider_id"),
        ({"provider_id": "nope", "name": "claude"}, "provider_id"),
        ({"provider_id": ANTHROPIC}, "name"),
        ({"provider_id": ANTHROPIC, "name": ""}, "name"),
        ({"provider_id": ANTHROPIC, "name": "x" * 201}, "name"),
        ({"provider_id": ANTHROPIC, "name": "claude", "display_name": "x" * 201}, "display_name"),
        ({"provider_id": ANTHROPIC, "name": "claude", "temperature": "warm"}, "temperature"),
        ({"provider_id": ANTHROPIC, "name": "claude", "max_tokens": 1.5}, "max_tokens"),
        ({"provider_id": ANTHROPIC, "name": "claude", "max_tokens": 2_147_483_648}, "max_tokens"),
        ({"provider_id": ANTHROPIC, "name": "claude", "is_default": "yes please"}, "is_default"),
    ],
)
def test_bad_model_input_is_400_naming_the_field(
    people: dict[str, Any], database_url: str, payload: dict[str, Any], field: str
) -> None:
    body = {k: people["providers"]["anthropic"] if v == ANTHROPIC else v for k, v in payload.items()}
    response = send(people, "POST", MODELS, "admin", json=body)
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    assert count(database_url) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"provider_id": None}, "provider_id"),
        ({"is_enabled": None}, "is_enabled"),
        ({"is_default": None}, "is_default"),
        ({"name": ""}, "name"),
        ({"base_model": "x" * 201}, "base_model"),
    ],
)
def test_bad_model_changes_are_400_naming_the_field(
    people: dict[str, Any], payload: dict[str, Any], field: str
) -> None:
    created = create(people)
    response = send(people, "PATCH", f"{MODELS}/{created['id']}", "admin", json=payload)
    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert send(people, "GET", f"{MODELS}/{created['id']}", "admin").json() == created


def test_a_partial_update_changes_only_what_is_sent(people: dict[str, Any]) -> None:
    created = create(people, display_name="Sonnet", base_model="claude-3", temperature=1.0, max_tokens=1000)
    path = f"{MODELS}/{created['id']}"
    changed = send(people, "PATCH", path, "admin", json={"temperature": 0.2, "is_enabled": False})
    assert changed.status_code == 200
    body = changed.json()
    assert (body["temperature"], body["is_enabled"]) == (0.2, False)
    assert (body["name"], body["display_name"], body["base_model"], body["max_tokens"]) == (
        "claude-3-sonnet",
        "Sonnet",
        "claude-3",
        1000,
    )
    assert body["updated_at"] > created["updated_at"]
    assert body["created_at"] == created["created_at"]
    cleared = send(
        people, "PATCH", path, "admin", json={"display_name": None, "temperature": None, "max_tokens": None}
    ).json()
    assert [cleared[f] for f in ("display_name", "temperature", "max_tokens", "base_model")] == [
        None,
        None,
        None,
        "claude-3",
    ]
    renamed = send(people, "PATCH", path, "admin", json={"name": "claude-3-opus"})
    assert renamed.json()["name"] == "claude-3-opus"
    assert send(people, "GET", path, "admin").json() == renamed.json()


def test_a_name_taken_at_the_same_provider_is_409_naming_name(people: dict[str, Any], database_url: str) -> None:
    create(people, name="claude-3-sonnet")
    again = send(
        people,
        "POST",
        MODELS,
        "admin",
        json={"provider_id": people["providers"]["anthropic"], "name": "claude-3-sonnet"},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert [error["field"] for error in again.json()["errors"]] == ["name"]
    other = create(people, name="claude-3-haiku")
    renamed = send(people, "PATCH", f"{MODELS}/{other['id']}", "admin", json={"name": "claude-3-sonnet"})
    assert renamed.status_code == 409
    assert [error["field"] for error in renamed.json()["errors"]] == ["name"]
    # At another provider, or in another org, the name is free.
    create(people, "openai", name="claude-3-sonnet")
    create(people, "acme_anthropic", "other", "acme", name="claude-3-sonnet")
    assert count(database_url, "claude-3-sonnet") == 3


def test_an_org_has_at_most_one_default_model(people: dict[str, Any], database_url: str) -> None:
    org_id = people["acme"]["id"]
    first = create(people, name="claude-3-sonnet", is_default=True)
    default_org = first["org_id"]
    assert first["is_default"] is True
    assert defaults(database_url) == {default_org: "claude-3-sonnet"}

    # A new default takes over, without a 409.
    second = create(people, "openai", name="gpt-4o", is_default=True)
    assert second["is_default"] is True
    assert send(people, "GET", f"{MODELS}/{first['id']}", "admin").json()["is_default"] is False
    assert defaults(database_url) == {default_org: "gpt-4o"}

    # Switching back with a change.
    switched = send(people, "PATCH", f"{MODELS}/{first['id']}", "admin", json={"is_default": True})
    assert (switched.status_code, switched.json()["is_default"]) == (200, True)
    assert send(people, "GET", f"{MODELS}/{second['id']}", "admin").json()["is_default"] is False
    assert defaults(database_url) == {default_org: "claude-3-sonnet"}

    # Changing the default model in other ways keeps it the default; so does saying so again.
    kept = send(people, "PATCH", f"{MODELS}/{first['id']}", "admin", json={"display_name": "Sonnet"})
    assert kept.json()["is_default"] is True
    again = send(people, "PATCH", f"{MODELS}/{first['id']}", "admin", json={"is_default": True})
    assert (again.status_code, again.json()["is_default"]) == (200, True)
    assert defaults(database_url) == {default_org: "claude-3-sonnet"}

    # Another org's default is its own.
    theirs = create(people, "acme_anthropic", "other", "acme", name="claude-2", is_default=True)
    assert theirs["is_default"] is True
    assert defaults(database_url) == {default_org: "claude-3-sonnet", org_id: "claude-2"}

    # Un-defaulting leaves the org without a default.
    unset = send(people, "PATCH", f"{MODELS}/{first['id']}", "admin", json={"is_default": False})
    assert unset.json()["is_default"] is False
    assert defaults(database_url) == {org_id: "claude-2"}
    listed = send(people, "GET", MODELS, "admin").json()["items"]
    assert [model["is_default"] for model in listed] == [False, False]


def test_a_failed_switch_keeps_the_previous_default(people: dict[str, Any], database_url: str) -> None:
    first = create(people, name="claude-3-sonnet", is_default=True)
    bad = send(
        people,
        "POST",
        MODELS,
        "admin",
        json={"provider_id": people["providers"]["openai"], "name": "gpt-4o", "is_default": True, "max_tokens": 0},
    )
    assert bad.status_code == 422
    other = create(people, "openai", name="gpt-4o")
    changed = send(people, "PATCH", f"{MODELS}/{other['id']}", "admin", json={"is_default": True, "temperature": 3})
    assert changed.status_code == 422
    assert defaults(database_url) == {first["org_id"]: "claude-3-sonnet"}


def test_the_database_allows_one_default_per_org(people: dict[str, Any], database_url: str) -> None:
    first = create(people, name="claude-3-sonnet", is_default=True)
    with psycopg.connect(database_url) as conn:
        (indexdef,) = conn.execute(  # type: ignore[misc]
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'models_org_id_is_default_idx'"
        ).fetchone()
        assert indexdef.startswith("CREATE UNIQUE INDEX")
        assert indexdef.endswith("(org_id) WHERE is_default")
    with psycopg.connect(database_url) as conn, pytest.raises(psycopg.errors.UniqueViolation) as raised:
        conn.execute(
            "INSERT INTO models (org_id, provider_id, name, is_default) VALUES (%s, %s, 'gpt-4o', true)",
            [first["org_id"], people["providers"]["openai"]],
        )
    assert raised.value.diag.constraint_name == "models_org_id_is_default_idx"


def test_a_concurrent_switch_of_the_default_loses_with_409_and_leaves_one_default(
    people: dict[str, Any], database_url: str
) -> None:
    client: TestClient[Litestar] = people["client"]
    first = create(people, name="first", is_default=True)
    second = create(people, name="second")
    third = create(people, name="third")
    with psycopg.connect(database_url) as other, ThreadPoolExecutor(1) as pool:
        # Another request, stopped before its commit, makes second the default.
        other.execute("UPDATE models SET is_default = false WHERE org_id = %s AND is_default", [first["org_id"]])
        other.execute("UPDATE models SET is_default = true WHERE id = %s", [second["id"]])
        switching = pool.submit(
            client.patch, f"{MODELS}/{third['id']}", json={"is_default": True}, headers=headers(people, "admin")
        )
        time.sleep(0.5)
        assert not switching.done(), "the switch did not wait for the other's lock on the previous default"
        other.commit()
        response = switching.result(timeout=10)
    assert response.status_code == 409, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["is_default"]
    assert defaults(database_url) == {first["org_id"]: "second"}
    # Tried again, it wins.
    retried = send(people, "PATCH", f"{MODELS}/{third['id']}", "admin", json={"is_default": True})
    assert (retried.status_code, retried.json()["is_default"]) == (200, True)
    assert defaults(database_url) == {first["org_id"]: "third"}


def test_a_model_is_deleted(people: dict[str, Any], database_url: str) -> None:
    created = create(people, is_default=True)
    path = f"{MODELS}/{created['id']}"
    deleted = send(people, "DELETE", path, "admin")
    assert (deleted.status_code, deleted.text) == (204, "")
    assert send(people, "GET", path, "admin").status_code == 404
    assert send(people, "DELETE", path, "admin").status_code == 404
    assert count(database_url) == 0
    # The provider stays.
    assert send(people, "GET", f"{API}/model-providers/{created['provider_id']}", "admin").status_code == 200


def test_an_unknown_model_is_404(people: dict[str, Any]) -> None:
    path = f"{MODELS}/{UNKNOWN_ID}"
    for method, body in [("GET", None), ("PATCH", {"name": "x"}), ("PATCH", {"is_default": True}), ("DELETE", None)]:
        response = send(people, method, path, "admin", json=body)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["code"] == "not_found"


def test_another_orgs_model_is_404_on_every_route(people: dict[str, Any], database_url: str) -> None:
    theirs = create(people, "acme_anthropic", "other", "acme", name="claude-2", is_default=True)
    ours = create(people, name="claude-3-sonnet", is_default=True)
    # The owner of each org, acting in it, reaches for the other's model.
    for who, org, model in [("admin", None, theirs), ("other", "acme", ours)]:
        path = f"{MODELS}/{model['id']}"
        assert send(people, "GET", path, who, org).status_code == 404
        for change in ({"name": "mine"}, {"is_default": True}, {"is_default": False}):
            assert send(people, "PATCH", path, who, org, json=change).status_code == 404
        assert send(people, "DELETE", path, who, org).status_code == 404
    assert send(people, "GET", f"{MODELS}/{theirs['id']}", "other", "acme").json() == theirs
    assert send(people, "GET", f"{MODELS}/{ours['id']}", "admin").json() == ours
    assert defaults(database_url) == {ours["org_id"]: "claude-3-sonnet", theirs["org_id"]: "claude-2"}


def test_members_read_but_only_owners_and_admins_write(people: dict[str, Any], database_url: str) -> None:
    created = create(people)
    path = f"{MODELS}/{created['id']}"
    for who in ("member", "guest", "other"):  # other is a plain member of the default org
        assert send(people, "GET", MODELS, who).json()["total"] == 1
        assert send(people, "GET", path, who).json() == created
        refused = [
            send(people, "POST", MODELS, who, json={"provider_id": created["provider_id"], "name": "claude-3-haiku"}),
            send(people, "PATCH", path, who, json={"is_default": True}),
            send(people, "DELETE", path, who),
        ]
        assert [response.status_code for response in refused] == [403, 403, 403], who
        assert all(response.json()["code"] == "forbidden" for response in refused)
    assert send(people, "GET", path, "admin").json() == created
    # A platform guest who owns an org still only reads there.
    theirs = create(people, "acme_anthropic", "other", "acme", name="claude-2")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET role = 'guest' WHERE id = %s", [people["other"]["user"]["id"]])
    assert send(people, "GET", f"{MODELS}/{theirs['id']}", "other", "acme").status_code == 200
    assert send(people, "PATCH", f"{MODELS}/{theirs['id']}", "other", "acme", json={}).status_code == 403
    assert send(people, "DELETE", f"{MODELS}/{theirs['id']}", "other", "acme").status_code == 403
    # The platform admin acts in acme when naming it.
    changed = send(people, "PATCH", f"{MODELS}/{theirs['id']}", "admin", "acme", json={"is_default": True})
    assert (changed.status_code, changed.json()["is_default"]) == (200, True)


def test_model_routes_need_a_signed_in_user(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create(people)
    assert client.get(MODELS).status_code == 401
    assert client.post(MODELS, json={"provider_id": created["provider_id"], "name": "x"}).status_code == 401
    assert client.get(f"{MODELS}/{created['id']}").status_code == 401
    assert client.patch(f"{MODELS}/{created['id']}", json={}).status_code == 401
    assert client.delete(f"{MODELS}/{created['id']}").status_code == 401


def test_the_openapi_document_has_the_model_routes(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    operations = {
        operation["operationId"]
        for path, item in document["paths"].items()
        if path.startswith(MODELS)
        for operation in item.values()
    }
    assert operations == {"list_models", "create_model", "get_model", "update_model", "delete_model"}
