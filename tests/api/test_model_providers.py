"""Model providers: their API keys encrypted at rest and never returned, names unique per org, roles and tenancy."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from helpers import SECRET_KEY, People, bearer
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services.crypto import Encryptor, provider_api_key

API = "/api/v1"
PROVIDERS = f"{API}/model-providers"
# Every response of this module is searched for these keys: none may ever carry one.
KEYS = ["sk-ant-first-0123456789abcdef", "sk-ant-second-fedcba9876543210", "k" * 10_001]
PROVIDER_FIELDS = {"id", "org_id", "name", "kind", "base_url", "has_api_key", "is_enabled", "created_at", "updated_at"}


@pytest.fixture
def people(people_factory: People) -> People:
    """In the default org: admin (platform admin and owner), manager (an org admin), member, and guest (a member
    who is a platform guest). other owns the org acme (and, like every later user, belongs to the default org)."""
    people = people_factory
    people.add("manager", org_role="admin")
    people.add("member")
    people.add("guest", platform_role="guest")
    people.add("other")
    people["acme"] = people.org("Acme", owner="other")
    return people


def headers(people: dict[str, Any], who: str, org: str | None = None) -> dict[str, str]:
    """`who`'s bearer token, acting in their home org or in `org` ("acme")."""
    found = bearer(people[who]["token"])
    if org is not None:
        found["X-Org-Id"] = people[org]["id"]
    return found


def send(people: dict[str, Any], method: str, path: str, who: str, org: str | None = None, **kwargs: Any) -> Any:
    """A request as `who`; its answer is checked to carry no API key, and a provider to carry only its fields."""
    client: TestClient[Litestar] = people["client"]
    response: httpx.Response = client.request(method, path, headers=headers(people, who, org), **kwargs)
    for key in KEYS:
        assert key not in response.text
    if response.status_code in (200, 201) and path.startswith(PROVIDERS):
        body = response.json()
        for provider in body.get("items", [body]):
            assert set(provider) == PROVIDER_FIELDS, provider
    return response


def create(people: dict[str, Any], who: str = "admin", org: str | None = None, **fields: Any) -> dict[str, Any]:
    response = send(people, "POST", PROVIDERS, who, org, json={"name": "anthropic", "kind": "anthropic", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def decrypted(stored: bytes, provider_id: str, key: str = SECRET_KEY) -> str | None:
    return Encryptor(key).decrypt(stored, binding=provider_api_key(UUID(provider_id)))


def stored_key(database_url: str, provider_id: str) -> bytes | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT api_key FROM model_providers WHERE id = %s", [provider_id]).fetchone()
    assert row is not None
    return None if row[0] is None else bytes(row[0])


def test_a_provider_is_created_and_read_back(people: dict[str, Any], database_url: str) -> None:
    created = create(people, name="openai", kind="openai", base_url="https://api.openai.com/v1", api_key=KEYS[0])
    assert created["name"] == "openai"
    assert (created["kind"], created["base_url"]) == ("openai", "https://api.openai.com/v1")
    assert (created["has_api_key"], created["is_enabled"]) == (True, True)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT id::text FROM orgs WHERE is_default").fetchone() == (created["org_id"],)
    got = send(people, "GET", f"{PROVIDERS}/{created['id']}", "admin")
    assert got.status_code == 200
    assert got.json() == created
    bare = create(people, name="local", kind="ollama", is_enabled=False)
    assert (bare["base_url"], bare["has_api_key"], bare["is_enabled"]) == (None, False, False)
    assert bare["org_id"] == created["org_id"]


def test_the_api_key_is_stored_encrypted_and_decrypts_to_the_key(people: dict[str, Any], database_url: str) -> None:
    created = create(people, api_key=KEYS[0])
    stored = stored_key(database_url, created["id"])
    assert stored is not None
    assert KEYS[0].encode() not in stored
    assert KEYS[0].encode().hex() not in stored.hex()
    assert decrypted(stored, created["id"]) == KEYS[0]
    # Not decryptable under another key: the stored bytes are the ciphertext, nothing else.
    assert decrypted(stored, created["id"], "another-secret-key-that-is-long-enough-012345") is None
    # Nor as another provider's key: the ciphertext is bound to its row.
    other = create(people, name="other", api_key=KEYS[1])
    assert decrypted(stored, other["id"]) is None


def test_has_api_key_follows_set_replace_and_remove(people: dict[str, Any], database_url: str) -> None:
    created = create(people)
    path = f"{PROVIDERS}/{created['id']}"
    assert created["has_api_key"] is False
    assert stored_key(database_url, created["id"]) is None

    set_key = send(people, "PATCH", path, "admin", json={"api_key": KEYS[0]})
    assert (set_key.status_code, set_key.json()["has_api_key"]) == (200, True)
    first = stored_key(database_url, created["id"])
    assert first is not None and decrypted(first, created["id"]) == KEYS[0]

    # Left out, the key stays as it was.
    renamed = send(people, "PATCH", path, "admin", json={"name": "claude", "is_enabled": False})
    assert renamed.json()["has_api_key"] is True
    assert (renamed.json()["name"], renamed.json()["is_enabled"]) == ("claude", False)
    assert stored_key(database_url, created["id"]) == first

    replaced = send(people, "PATCH", path, "admin", json={"api_key": KEYS[1]})
    assert replaced.json()["has_api_key"] is True
    second = stored_key(database_url, created["id"])
    assert second is not None and decrypted(second, created["id"]) == KEYS[1]

    removed = send(people, "PATCH", path, "admin", json={"api_key": None})
    assert (removed.status_code, removed.json()["has_api_key"]) == (200, False)
    assert stored_key(database_url, created["id"]) is None
    assert send(people, "GET", path, "admin").json()["has_api_key"] is False
    listed = send(people, "GET", PROVIDERS, "admin").json()["items"]
    assert [provider["has_api_key"] for provider in listed] == [False]


def test_a_partial_update_changes_only_what_is_sent(people: dict[str, Any]) -> None:
    created = create(people, kind="openai_compatible", base_url="http://localhost:8080/v1", api_key=KEYS[0])
    path = f"{PROVIDERS}/{created['id']}"
    changed = send(people, "PATCH", path, "admin", json={"kind": "openai", "api_key": KEYS[1]})
    assert changed.status_code == 200
    body = changed.json()
    assert (body["kind"], body["base_url"], body["name"], body["has_api_key"]) == (
        "openai",
        "http://localhost:8080/v1",
        "anthropic",
        True,
    )
    assert body["updated_at"] > created["updated_at"]
    assert body["created_at"] == created["created_at"]
    cleared = send(people, "PATCH", path, "admin", json={"base_url": None})
    assert (cleared.json()["base_url"], cleared.json()["kind"]) == (None, "openai")
    unchanged = send(people, "PATCH", path, "admin", json={})
    assert unchanged.status_code == 200
    assert {k: v for k, v in unchanged.json().items() if k != "updated_at"} == {
        k: v for k, v in cleared.json().items() if k != "updated_at"
    }


@pytest.mark.parametrize(
    "change",
    [{"base_url": "https://attacker.example.com/v1"}, {"base_url": None}, {"kind": "openai_compatible"}],
    ids=["new-base-url", "base-url-removed", "new-kind"],
)
def test_a_new_address_or_kind_removes_the_key_unless_one_is_sent_with_it(
    people: dict[str, Any], database_url: str, change: dict[str, Any]
) -> None:
    """A manager who may not read the key must not be able to send it to a server of their choosing."""
    created = create(people, kind="openai", base_url="https://api.openai.com/v1", api_key=KEYS[0])
    path = f"{PROVIDERS}/{created['id']}"
    # The same address and kind again, or other fields: the key stays.
    same = send(people, "PATCH", path, "manager", json={"kind": "openai", "base_url": "https://api.openai.com/v1"})
    assert same.json()["has_api_key"] is True
    assert send(people, "PATCH", path, "manager", json={"name": "gpt"}).json()["has_api_key"] is True

    moved = send(people, "PATCH", path, "manager", json=change)
    assert moved.status_code == 200, moved.text
    assert moved.json()["has_api_key"] is False
    assert stored_key(database_url, created["id"]) is None

    # With a key in the same request, the new key is stored.
    send(people, "PATCH", path, "manager", json={"kind": "openai", "base_url": "https://api.openai.com/v1"})
    rekeyed = send(people, "PATCH", path, "manager", json={**change, "api_key": KEYS[1]})
    assert rekeyed.json()["has_api_key"] is True
    stored = stored_key(database_url, created["id"])
    assert stored is not None and decrypted(stored, created["id"]) == KEYS[1]


def test_providers_are_listed_by_name_in_pages(people: dict[str, Any]) -> None:
    for name in ("openai", "anthropic", "ollama"):
        create(people, name=name)
    create(people, "other", "acme", name="azure")  # another org's: never listed here
    first = send(people, "GET", PROVIDERS, "admin", params={"page_size": 2}).json()
    assert [provider["name"] for provider in first["items"]] == ["anthropic", "ollama"]
    assert (first["total"], first["page"], first["page_size"]) == (3, 1, 2)
    second = send(people, "GET", PROVIDERS, "admin", params={"page": 2, "page_size": 2}).json()
    assert [provider["name"] for provider in second["items"]] == ["openai"]
    assert (second["total"], second["page"]) == (3, 2)
    beyond = send(people, "GET", PROVIDERS, "admin", params={"page": 9, "page_size": 2}).json()
    assert beyond == {"items": [], "total": 3, "page": 9, "page_size": 2}
    assert send(people, "GET", PROVIDERS, "admin").json()["page_size"] == 20
    assert send(people, "GET", PROVIDERS, "admin", params={"page_size": 100}).status_code == 200
    acme = send(people, "GET", PROVIDERS, "other", "acme").json()
    assert ([provider["name"] for provider in acme["items"]], acme["total"]) == (["azure"], 1)


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page_size": 101}, {"page": "x"}])
def test_bad_paging_is_400(people: dict[str, Any], params: dict[str, Any]) -> None:
    response = send(people, "GET", PROVIDERS, "admin", params=params)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == list(params)


def test_a_name_the_org_already_uses_is_409_naming_name(people: dict[str, Any], database_url: str) -> None:
    create(people, name="anthropic")
    again = send(people, "POST", PROVIDERS, "admin", json={"name": "anthropic", "kind": "openai", "api_key": KEYS[0]})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert again.json()["errors"] == [{"field": "name", "message": "already exists"}]
    other = create(people, name="openai")
    renamed = send(people, "PATCH", f"{PROVIDERS}/{other['id']}", "admin", json={"name": "anthropic"})
    assert renamed.status_code == 409
    assert renamed.json()["errors"] == [{"field": "name", "message": "already exists"}]
    # Names are the org's own: another org may use the same one.
    create(people, "other", "acme", name="anthropic")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM model_providers WHERE name = 'anthropic'").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM model_providers WHERE api_key IS NOT NULL").fetchone() == (0,)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "anthropic"}, "name"),
        ({"name": "anthropic"}, "kind"),
        ({"name": "", "kind": "anthropic"}, "name"),
        ({"name": "Anthropic", "kind": "anthropic"}, "name"),
        ({"name": "-anthropic", "kind": "anthropic"}, "name"),
        ({"name": "has space", "kind": "anthropic"}, "name"),
        ({"name": "a" * 65, "kind": "anthropic"}, "name"),
        ({"name": "anthropic", "kind": "mistral"}, "kind"),
        ({"name": "anthropic", "kind": "anthropic", "base_url": "ftp://example.com"}, "base_url"),
        ({"name": "anthropic", "kind": "anthropic", "api_key": ""}, "api_key"),
        ({"name": "anthropic", "kind": "anthropic", "api_key": KEYS[2]}, "api_key"),
        ({"name": "anthropic", "kind": "anthropic", "is_enabled": "perhaps"}, "is_enabled"),
    ],
)
def test_bad_provider_input_is_400_naming_the_field(
    people: dict[str, Any], database_url: str, payload: dict[str, Any], field: str
) -> None:
    response = send(people, "POST", PROVIDERS, "admin", json=payload)
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM model_providers").fetchone() == (0,)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": None}, "name"),
        ({"kind": None}, "kind"),
        ({"is_enabled": None}, "is_enabled"),
        ({"name": "Bad Name"}, "name"),
        ({"kind": "mistral"}, "kind"),
        ({"base_url": "example.com"}, "base_url"),
        ({"api_key": ""}, "api_key"),
    ],
)
def test_bad_provider_changes_are_400_naming_the_field(
    people: dict[str, Any], payload: dict[str, Any], field: str
) -> None:
    created = create(people, api_key=KEYS[0])
    response = send(people, "PATCH", f"{PROVIDERS}/{created['id']}", "admin", json=payload)
    assert response.status_code == 400, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert send(people, "GET", f"{PROVIDERS}/{created['id']}", "admin").json() == created


def test_deleting_a_provider_deletes_its_models(people: dict[str, Any], database_url: str) -> None:
    provider = create(people, api_key=KEYS[0])
    kept = create(people, name="openai")
    model_ids = []
    for name, provider_id in [("claude-3-sonnet", provider["id"]), ("claude-3-haiku", provider["id"])]:
        model = send(people, "POST", f"{API}/models", "admin", json={"provider_id": provider_id, "name": name})
        assert model.status_code == 201, model.text
        model_ids.append(model.json()["id"])
    other = send(people, "POST", f"{API}/models", "admin", json={"provider_id": kept["id"], "name": "gpt-4o"})
    assert other.status_code == 201
    path = f"{PROVIDERS}/{provider['id']}"
    deleted = send(people, "DELETE", path, "admin")
    assert (deleted.status_code, deleted.text) == (204, "")
    assert send(people, "GET", path, "admin").status_code == 404
    assert send(people, "DELETE", path, "admin").status_code == 404
    for model_id in model_ids:
        assert send(people, "GET", f"{API}/models/{model_id}", "admin").status_code == 404
    listed = send(people, "GET", f"{API}/models", "admin").json()
    assert ([model["name"] for model in listed["items"]], listed["total"]) == (["gpt-4o"], 1)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM models WHERE provider_id = %s", [provider["id"]]).fetchone() == (0,)


def test_an_unknown_provider_is_404(people: dict[str, Any]) -> None:
    path = f"{PROVIDERS}/00000000-0000-4000-8000-000000000000"
    for method, body in [("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)]:
        response = send(people, method, path, "admin", json=body)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["code"] == "not_found"
    assert send(people, "GET", f"{PROVIDERS}/not-a-uuid", "admin").status_code in (400, 404)


def test_another_orgs_provider_is_404_on_every_route(people: dict[str, Any], database_url: str) -> None:
    theirs = create(people, "other", "acme", api_key=KEYS[0])
    ours = create(people, "admin", name="openai")
    # The platform admin and owner of the default org, acting there; other, the owner of acme, acting there.
    for who, org, provider in [("admin", None, theirs), ("other", "acme", ours), ("manager", None, theirs)]:
        path = f"{PROVIDERS}/{provider['id']}"
        assert send(people, "GET", path, who, org).status_code == 404
        assert send(people, "PATCH", path, who, org, json={"api_key": None, "name": "mine"}).status_code == 404
        assert send(people, "DELETE", path, who, org).status_code == 404
    # Nothing changed.
    assert send(people, "GET", f"{PROVIDERS}/{theirs['id']}", "other", "acme").json() == theirs
    assert send(people, "GET", f"{PROVIDERS}/{ours['id']}", "admin").json() == ours
    assert stored_key(database_url, theirs["id"]) is not None


def test_members_read_but_only_owners_and_admins_write(people: dict[str, Any]) -> None:
    created = create(people, api_key=KEYS[0])
    path = f"{PROVIDERS}/{created['id']}"
    for who in ("member", "guest", "other"):  # other is a plain member of the default org
        assert send(people, "GET", PROVIDERS, who).json()["total"] == 1
        assert send(people, "GET", path, who).json() == created
        refused = [
            send(people, "POST", PROVIDERS, who, json={"name": "openai", "kind": "openai"}),
            send(people, "PATCH", path, who, json={"api_key": None}),
            send(people, "DELETE", path, who),
        ]
        assert [response.status_code for response in refused] == [403, 403, 403], who
        assert all(response.json()["code"] == "forbidden" for response in refused)
    assert send(people, "GET", path, "admin").json() == created
    # An org admin manages the org's providers.
    by_manager = create(people, "manager", name="openai")
    assert send(people, "PATCH", path, "manager", json={"is_enabled": False}).json()["is_enabled"] is False
    assert send(people, "DELETE", f"{PROVIDERS}/{by_manager['id']}", "manager").status_code == 204


def test_a_guest_owner_cannot_write_and_a_platform_admin_writes_in_every_org(
    people: dict[str, Any], database_url: str
) -> None:
    theirs = create(people, "other", "acme")
    # The platform admin is no member of acme, but acts there when they name it.
    changed = send(people, "PATCH", f"{PROVIDERS}/{theirs['id']}", "admin", "acme", json={"api_key": KEYS[1]})
    assert (changed.status_code, changed.json()["has_api_key"]) == (200, True)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE users SET role = 'guest' WHERE id = %s", [people["other"]["user"]["id"]])
    assert send(people, "GET", PROVIDERS, "other", "acme").json()["total"] == 1
    assert send(people, "PATCH", f"{PROVIDERS}/{theirs['id']}", "other", "acme", json={}).status_code == 403
    assert send(people, "DELETE", f"{PROVIDERS}/{theirs['id']}", "other", "acme").status_code == 403


def test_provider_routes_need_a_signed_in_user(people: dict[str, Any]) -> None:
    client: TestClient[Litestar] = people["client"]
    created = create(people)
    assert client.get(PROVIDERS).status_code == 401
    assert client.post(PROVIDERS, json={"name": "openai", "kind": "openai"}).status_code == 401
    assert client.get(f"{PROVIDERS}/{created['id']}").status_code == 401
    assert client.patch(f"{PROVIDERS}/{created['id']}", json={}).status_code == 401
    assert client.delete(f"{PROVIDERS}/{created['id']}").status_code == 401


def test_the_openapi_document_has_the_provider_routes_without_the_key(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    operations = {
        operation["operationId"]
        for path, item in document["paths"].items()
        if path.startswith(PROVIDERS)
        for operation in item.values()
    }
    assert operations == {
        "list_model_providers",
        "create_model_provider",
        "get_model_provider",
        "update_model_provider",
        "delete_model_provider",
    }
    assert set(document["components"]["schemas"]["ModelProvider"]["properties"]) == PROVIDER_FIELDS
