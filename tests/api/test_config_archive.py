"""GET /config/export and POST /config/import: the desktop layout as an archive, for org owners and admins."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import bearer, register
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.services.desktop.layout import build_archive, read_archive, read_directory

API = "/api/v1"
SAMPLE = Path(__file__).parent.parent.parent / "examples" / "desktop"


def sample_zip(folder: str = "", **changes: bytes) -> bytes:
    files, _ = read_directory(SAMPLE)
    return build_archive({**files, **changes}, "zip", folder=folder)


def post_import(
    client: TestClient[Litestar], token: str, archive: bytes, *, org_id: str | None = None, dry_run: bool = False
) -> Any:
    headers = {**bearer(token), "Content-Type": "application/zip"}
    if org_id is not None:
        headers["X-Org-Id"] = org_id
    return client.post(f"{API}/config/import", content=archive, headers=headers, params={"dry_run": dry_run})


def export(client: TestClient[Litestar], token: str, *, org_id: str | None = None, archive_format: str = "zip") -> Any:
    headers = bearer(token) if org_id is None else {**bearer(token), "X-Org-Id": org_id}
    return client.get(f"{API}/config/export", headers=headers, params={"format": archive_format})


def rows(database_url: str) -> list[tuple[Any, ...]]:
    """Every row an import may write, with its timestamps."""
    with psycopg.connect(database_url) as conn:
        return [
            *conn.execute("SELECT 'provider', id, updated_at FROM model_providers ORDER BY id"),
            *conn.execute("SELECT 'model', id, updated_at FROM models ORDER BY id"),
            *conn.execute("SELECT 'agent', id, updated_at FROM agents ORDER BY id"),
            *conn.execute("SELECT 'version', agent_id, version FROM agent_versions ORDER BY 2, 3"),
            *conn.execute("SELECT 'channel', id, updated_at FROM channels ORDER BY id"),
        ]


@pytest.fixture
def owner(client: TestClient[Litestar], admin: dict[str, Any]) -> str:
    """The default org's owner, with the sample tree imported into it."""
    token: str = admin["token"]
    response = post_import(client, token, sample_zip())
    assert response.status_code == 200, response.text
    return token


def test_an_archive_round_trips_into_another_org(client: TestClient[Litestar], owner: str, database_url: str) -> None:
    exported = export(client, owner)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/zip"
    assert exported.headers["content-disposition"] == 'attachment; filename="agentpress-config-default.zip"'
    files, _ = read_archive(exported.content)
    assert sorted(files) == sorted(read_directory(SAMPLE)[0])

    other = client.post(f"{API}/orgs", json={"name": "Other", "slug": "other"}, headers=bearer(owner)).json()
    imported = post_import(client, owner, exported.content, org_id=other["id"])
    assert imported.status_code == 200, imported.text
    summary = imported.json()
    assert (summary["created"], summary["updated"], summary["unchanged"], summary["dry_run"]) == (10, 0, 0, False)
    assert {item["kind"] for item in summary["items"]} == {"provider", "model", "agent", "channel"}
    # Over HTTP the server's environment is never read: the keys stay to be set through the providers API.
    assert any("ANTHROPIC_API_KEY is not read over HTTP" in warning for warning in summary["warnings"])

    again = export(client, owner, org_id=other["id"], archive_format="tar")
    assert again.headers["content-type"] == "application/gzip"
    assert read_archive(again.content)[0] == files
    # The agents of the new org are its own, with the ids of the tree kept beside them.
    with psycopg.connect(database_url) as conn:
        orgs_of_support_bots = conn.execute(
            "SELECT count(DISTINCT a.org_id) FROM agents AS a JOIN agent_config_ids USING (org_id) "
            "WHERE config_id = 'support-bot' AND a.id = agent_id"
        ).fetchone()
    assert orgs_of_support_bots == (2,)

    second = post_import(client, owner, again.content, org_id=other["id"])
    assert (second.json()["created"], second.json()["updated"], second.json()["unchanged"]) == (0, 0, 10)


def test_the_server_environment_is_never_read(
    client: TestClient[Litestar], admin: dict[str, Any], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-of-the-operator")
    assert post_import(client, admin["token"], sample_zip()).status_code == 200
    with psycopg.connect(database_url) as conn:
        keys = conn.execute("SELECT count(*) FROM model_providers WHERE api_key IS NOT NULL").fetchone()
    assert keys == (0,)


def test_dry_run_answers_the_plan_and_writes_nothing(
    client: TestClient[Litestar], admin: dict[str, Any], database_url: str
) -> None:
    before = rows(database_url)
    planned = post_import(client, admin["token"], sample_zip(), dry_run=True)
    assert planned.status_code == 200, planned.text
    assert (planned.json()["created"], planned.json()["dry_run"]) == (10, True)
    assert rows(database_url) == before


def test_members_may_neither_export_nor_import(client: TestClient[Litestar], owner: str, database_url: str) -> None:
    member = register(client, "member@example.com")["token"]
    before = rows(database_url)
    for response in (export(client, member), post_import(client, member, sample_zip())):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
    assert rows(database_url) == before


def test_another_orgs_configuration_is_never_exported(client: TestClient[Litestar], owner: str) -> None:
    eve = register(client, "eve@example.com")["token"]
    eves = client.post(f"{API}/orgs", json={"name": "Eve's", "slug": "eves"}, headers=bearer(eve)).json()
    secret_agent = b"id: secret-agent\nname: Eve's secret agent\n"
    imported = post_import(
        client, eve, sample_zip(**{"agents/secret-agent/config.yaml": secret_agent}), org_id=eves["id"]
    )
    assert imported.status_code == 200, imported.text

    files, _ = read_archive(export(client, owner).content)
    assert "agents/secret-agent/config.yaml" not in files
    assert all(b"secret agent" not in content for content in files.values())
    # An owner of another org cannot name Eve's: it is not found, as if it did not exist.
    bob = register(client, "bob@example.com")["token"]
    bobs = client.post(f"{API}/orgs", json={"name": "Bob's", "slug": "bobs"}, headers=bearer(bob)).json()
    assert export(client, bob, org_id=bobs["id"]).status_code == 200
    assert export(client, bob, org_id=eves["id"]).status_code == 404
    assert post_import(client, bob, sample_zip(), org_id=eves["id"]).status_code == 404


def test_a_tree_in_one_folder_or_a_tar_is_taken_too(client: TestClient[Litestar], admin: dict[str, Any]) -> None:
    in_folder = post_import(client, admin["token"], sample_zip(folder=".viben"))
    assert in_folder.status_code == 200, in_folder.text
    assert in_folder.json()["created"] == 10
    files, _ = read_directory(SAMPLE)
    plain_tar = io.BytesIO()
    with tarfile.open(fileobj=plain_tar, mode="w") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    as_tar = post_import(client, admin["token"], plain_tar.getvalue())
    assert as_tar.status_code == 200, as_tar.text
    assert as_tar.json()["unchanged"] == 10


def test_bad_archives_are_400_naming_file_and_field_and_change_nothing(
    client: TestClient[Litestar], owner: str, database_url: str
) -> None:
    before = rows(database_url)
    bad = sample_zip(**{"agents/researcher/config.yaml": b"id: researcher\nname: Researcher\ntemperature: hot\n"})
    response = post_import(client, owner, bad)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["errors"] == [
        {
            "field": "agents/researcher/config.yaml:3: temperature",
            "message": "expected a number, got a string ('hot')",
        }
    ]
    assert body["detail"] == "agents/researcher/config.yaml:3: temperature: expected a number, got a string ('hot')"

    unknown_provider = sample_zip(**{"models.yaml": b"models:\n  - id: large\n    provider: mistral\n"})
    response = post_import(client, owner, unknown_provider)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_reference"
    assert response.json()["errors"][0]["field"] == "models.yaml:3: models[0].provider"

    # Nothing, not an archive, a zip cut short.
    for junk in (b"", b"not an archive at all", sample_zip()[:200]):
        response = post_import(client, owner, junk)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "archive"
    assert rows(database_url) == before
