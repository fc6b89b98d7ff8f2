"""`agentpress config export|import`: the layout round-trips, imports are idempotent, bad trees change nothing."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from helpers import SECRET_KEY
from psycopg.types.json import Jsonb

from agentpress import cli
from agentpress.services.crypto import Encryptor, provider_api_key
from agentpress.services.desktop import layout
from agentpress.services.desktop.layout import LayoutError, parse_tree, read_archive, read_directory

SAMPLE = Path(__file__).parent.parent / "examples" / "desktop"
ANTHROPIC_KEY = "sk-ant-test-0123456789"


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("APP_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REDIS_URL", "off")
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return database_url


def one(database_url: str, statement: str, *params: Any) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(statement, params).fetchone()
    return None if row is None else row[0]


def provider_key(provider_id: UUID, api_key: bytes | None) -> str | None:
    """A provider's stored key, decrypted."""
    return None if api_key is None else Encryptor(SECRET_KEY).decrypt(api_key, binding=provider_api_key(provider_id))


def stored_provider_key(database_url: str, name: str) -> str | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT id, api_key FROM model_providers WHERE name = %s", [name]).fetchone()
    assert row is not None
    return provider_key(*row)


def make_org(database_url: str, slug: str) -> str:
    return str(one(database_url, "INSERT INTO orgs (name, slug) VALUES (%s, %s) RETURNING id", slug.title(), slug))


def default_org(database_url: str) -> str:
    return str(one(database_url, "SELECT id FROM orgs WHERE is_default"))


def make_tool_and_knowledge_base(database_url: str, org_id: str) -> tuple[str, str]:
    tool = one(
        database_url,
        "INSERT INTO tools (org_id, name, kind) VALUES (%s, 'web_search', 'function') RETURNING id",
        org_id,
    )
    kb = one(database_url, "INSERT INTO knowledge_bases (org_id, name) VALUES (%s, 'Help center') RETURNING id", org_id)
    return str(tool), str(kb)


def seed_source(database_url: str, org_id: str) -> None:
    """An org configured through the API (no import): keys set directly, agents with their own ids, one archived."""
    tool, kb = make_tool_and_knowledge_base(database_url, org_id)
    anthropic_id = uuid4()
    key = Encryptor(SECRET_KEY).encrypt(ANTHROPIC_KEY, binding=provider_api_key(anthropic_id))
    with psycopg.connect(database_url) as conn:
        anthropic = conn.execute(
            "INSERT INTO model_providers (id, org_id, name, kind, api_key) "
            "VALUES (%s, %s, 'anthropic', 'anthropic', %s) RETURNING id",
            [anthropic_id, org_id, key],
        ).fetchone()[0]  # type: ignore[index]
        local = conn.execute(
            "INSERT INTO model_providers (org_id, name, kind, base_url, is_enabled) "
            "VALUES (%s, 'local-llm', 'ollama', 'http://localhost:11434', false) RETURNING id",
            [org_id],
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO models (org_id, provider_id, name, display_name, base_model, temperature, max_tokens, "
            "is_default) VALUES (%s, %s, 'claude-sonnet-4-5', 'Sonnet', 'claude-sonnet', 0.7, 2048, true), "
            "(%s, %s, 'claude-haiku-4-5', NULL, NULL, NULL, NULL, false)",
            [org_id, anthropic, org_id, anthropic],
        )
        conn.execute(
            "INSERT INTO models (org_id, provider_id, name, is_enabled) VALUES (%s, %s, 'llama3', false)",
            [org_id, local],
        )
        support = conn.execute(
            "INSERT INTO agents (org_id, name, description, prompt, primary_model_provider, primary_model, "
            "primary_model_temperature, max_tokens) VALUES (%s, 'Support bot', 'Answers questions', "
            "'Be brief.\nBe kind.', 'anthropic', 'claude-sonnet-4-5', 0.3, 1024) RETURNING id",
            [org_id],
        ).fetchone()[0]  # type: ignore[index]
        conn.execute("INSERT INTO agent_tools (agent_id, tool_id, org_id) VALUES (%s, %s, %s)", [support, tool, org_id])
        conn.execute(
            "INSERT INTO agent_knowledge_bases (agent_id, knowledge_base_id, org_id) VALUES (%s, %s, %s)",
            [support, kb, org_id],
        )
        conn.execute(
            "INSERT INTO agents (org_id, name, is_enabled, is_archived) VALUES (%s, 'Old bot', false, true)", [org_id]
        )
        conn.execute(
            "INSERT INTO channels (org_id, name, kind, agent_id, settings) VALUES "
            "(%s, 'website', 'web', %s, %s), (%s, 'spare', 'discord', NULL, '{}')",
            [org_id, support, Jsonb({"origins": ["https://example.com"], "rate": 1.5}), org_id],
        )


def configuration(database_url: str, org_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the layout carries of an org, field by field, without ids and timestamps (keys decrypted)."""
    with psycopg.connect(database_url) as conn:
        providers = conn.execute(
            "SELECT name, kind, base_url, is_enabled, id, api_key FROM model_providers WHERE org_id = %s ORDER BY name",
            [org_id],
        ).fetchall()
        models = conn.execute(
            "SELECT p.name, m.name, m.display_name, m.base_model, m.temperature, m.max_tokens, m.is_enabled, "
            "m.is_default FROM models AS m JOIN model_providers AS p ON p.id = m.provider_id "
            "WHERE m.org_id = %s ORDER BY p.name, m.name",
            [org_id],
        ).fetchall()
        agents = conn.execute(
            "SELECT a.name, a.description, a.prompt, a.primary_model_provider, a.primary_model, "
            "a.primary_model_temperature, a.max_tokens, a.is_enabled, a.is_archived, "
            "ARRAY(SELECT t.name FROM agent_tools JOIN tools AS t ON t.id = tool_id WHERE agent_id = a.id), "
            "ARRAY(SELECT k.name FROM agent_knowledge_bases JOIN knowledge_bases AS k ON k.id = knowledge_base_id "
            "WHERE agent_id = a.id) FROM agents AS a WHERE a.org_id = %s ORDER BY a.name",
            [org_id],
        ).fetchall()
        channels = conn.execute(
            "SELECT c.name, c.kind, a.name, c.settings, c.is_enabled FROM channels AS c "
            "LEFT JOIN agents AS a ON a.id = c.agent_id WHERE c.org_id = %s ORDER BY c.name",
            [org_id],
        ).fetchall()
    return {
        "providers": [(*row[:4], provider_key(row[4], row[5])) for row in providers],
        "models": models,
        "agents": agents,
        "channels": channels,
    }


def everything(database_url: str) -> list[tuple[Any, ...]]:
    """Every row an import may write, with its timestamps: equal before and after means nothing was written."""
    with psycopg.connect(database_url) as conn:
        return [
            *conn.execute("SELECT 'provider', id, updated_at, api_key_env FROM model_providers ORDER BY id"),
            *conn.execute("SELECT 'model', id, updated_at, is_default FROM models ORDER BY id"),
            *conn.execute("SELECT 'agent', id, updated_at, version FROM agents ORDER BY id"),
            *conn.execute("SELECT 'version', agent_id, version, created_at FROM agent_versions ORDER BY 2, 3"),
            *conn.execute("SELECT 'config_id', agent_id, config_id, created_at FROM agent_config_ids ORDER BY 2"),
            *conn.execute("SELECT 'channel', id, updated_at, agent_id FROM channels ORDER BY id"),
        ]


def tree_of(directory: Path) -> dict[str, bytes]:
    files, _ = read_directory(directory)
    return files


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def copy_sample(tmp_path: Path) -> Path:
    tree = tmp_path / "viben"
    shutil.copytree(SAMPLE, tree)
    return tree


def test_export_then_import_into_an_empty_org_reproduces_the_configuration(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = default_org(env)
    seed_source(env, source)
    code, out, _ = run(capsys, "config", "export", str(tmp_path / "exported"))
    assert code == 0, out
    exported = tree_of(tmp_path / "exported")
    agent_ids = one(env, "SELECT array_agg(id::text ORDER BY id::text) FROM agents")
    assert sorted(exported) == [
        *(f"agents/{agent_id}/config.yaml" for agent_id in agent_ids),
        "channels.yaml",
        "models.yaml",
        "providers/anthropic.yaml",
        "providers/local-llm.yaml",
    ]
    # No secret anywhere: the key is named by the variable that will hold it.
    assert all(ANTHROPIC_KEY.encode() not in content for content in exported.values())
    assert b"api_key_env: ANTHROPIC_API_KEY\n" in exported["providers/anthropic.yaml"]
    # Multi-line prompts are YAML blocks, readable in a diff.
    support = next(content for path, content in exported.items() if b"Support bot" in content)
    assert b"system_prompt: |-\n  Be brief.\n  Be kind.\n" in support

    # The target has the tool and the knowledge base the agent names (they are not part of the layout), nothing else.
    target = make_org(env, "target")
    make_tool_and_knowledge_base(env, target)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    code, out, err = run(capsys, "config", "import", str(tmp_path / "exported"), "--org", "target")
    assert code == 0, err
    assert out.rstrip().endswith("9 created, 0 updated, 0 unchanged"), out
    assert configuration(env, target) == configuration(env, source)
    assert configuration(env, target)["providers"][0] == ("anthropic", "anthropic", None, True, ANTHROPIC_KEY)

    # And the target exports the very same files: the agents keep the ids they have in the tree.
    assert run(capsys, "config", "export", str(tmp_path / "again"), "--org", "target")[0] == 0
    assert tree_of(tmp_path / "again") == exported


def test_importing_the_same_tree_twice_changes_nothing_the_second_time(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = copy_sample(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    code, out, _ = run(capsys, "config", "import", str(tree))
    assert code == 0
    assert "10 created, 0 updated, 0 unchanged" in out
    before = everything(env)

    code, out, _ = run(capsys, "config", "import", str(tree))
    assert code == 0
    assert out.rstrip().endswith("0 created, 0 updated, 10 unchanged"), out
    assert "unchanged    agent    support-bot  [agents/support-bot/config.yaml]" in out
    assert everything(env) == before


def test_a_changed_file_updates_its_item_and_an_agent_update_is_a_new_version(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = copy_sample(tmp_path)
    assert run(capsys, "config", "import", str(tree))[0] == 0
    agent = tree / "agents" / "support-bot" / "config.yaml"
    agent.write_text(agent.read_text().replace("temperature: 0.3", "temperature: 0.5").replace("Be brief", "Be short"))
    models = tree / "models.yaml"
    models.write_text(models.read_text().replace("default: claude-sonnet-4-5", "default: claude-haiku-4-5"))

    code, out, _ = run(capsys, "config", "import", str(tree))
    assert code == 0
    assert "updated      agent    support-bot  [agents/support-bot/config.yaml] (system_prompt, temperature)" in out
    assert "updated      model    anthropic/claude-sonnet-4-5  [models.yaml] (default)" in out
    assert "updated      model    anthropic/claude-haiku-4-5  [models.yaml] (default)" in out
    assert out.rstrip().endswith("0 created, 3 updated, 7 unchanged"), out
    versions = one(
        env,
        "SELECT array_agg(v.version ORDER BY v.version) FROM agent_versions AS v "
        "JOIN agent_config_ids AS c USING (agent_id) WHERE c.config_id = 'support-bot'",
    )
    assert versions == [1, 2]
    assert one(env, "SELECT primary_model_temperature FROM agents WHERE name = 'Support bot'") == 0.5
    assert one(env, "SELECT name FROM models WHERE is_default") == "claude-haiku-4-5"


def test_the_sample_tree_imports_cleanly_and_api_keys_come_only_from_the_environment(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test")
    code, out, err = run(capsys, "config", "import", str(SAMPLE))
    assert code == 0, err
    assert "warning: providers/anthropic.yaml: ANTHROPIC_API_KEY is not set: the provider has no API key" in out
    assert out.rstrip().endswith("10 created, 0 updated, 0 unchanged")
    with psycopg.connect(env) as conn:
        keys = dict(conn.execute("SELECT name, api_key FROM model_providers").fetchall())
        envs = dict(conn.execute("SELECT name, api_key_env FROM model_providers").fetchall())
    assert keys["anthropic"] is None
    assert stored_provider_key(env, "openai") == "sk-openai-test"
    assert envs == {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
    channels = configuration(env, default_org(env))["channels"]
    assert channels[1] == (
        "support-slack",
        "slack",
        "Support bot",
        {"channel": "#support", "bot_token_env": "SLACK_BOT_TOKEN"},
        True,
    )

    # Set later, the variable's key is stored by the next import; unset again, the stored key stays.
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    code, out, _ = run(capsys, "config", "import", str(SAMPLE))
    assert "updated      provider anthropic  [providers/anthropic.yaml] (api_key)" in out
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    code, out, _ = run(capsys, "config", "import", str(SAMPLE))
    assert "warning: providers/anthropic.yaml: ANTHROPIC_API_KEY is not set: the provider keeps its stored key" in out
    assert out.rstrip().endswith("0 created, 0 updated, 10 unchanged")
    assert stored_provider_key(env, "anthropic") == ANTHROPIC_KEY


def test_a_provider_moved_to_another_base_url_keeps_its_key_only_if_the_variable_gives_it_again(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = copy_sample(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test")
    assert run(capsys, "config", "import", str(tree))[0] == 0
    assert stored_provider_key(env, "openai") == "sk-openai-test"

    # The same key, given again with the new address: stored again (a new base_url alone would remove it).
    _replace(tree / "providers" / "openai.yaml", "https://api.openai.com/v1", "https://proxy.example.com/v1")
    code, out, _ = run(capsys, "config", "import", str(tree))
    assert code == 0
    assert "updated      provider openai  [providers/openai.yaml] (base_url, api_key)" in out
    assert stored_provider_key(env, "openai") == "sk-openai-test"

    # Without the variable, the key does not follow the provider to another address.
    monkeypatch.delenv("OPENAI_API_KEY")
    _replace(tree / "providers" / "openai.yaml", "https://proxy.example.com/v1", "https://elsewhere.example.com/v1")
    code, out, _ = run(capsys, "config", "import", str(tree))
    assert code == 0
    assert "warning: providers/openai.yaml: kind or base_url changed: the stored API key was removed" in out
    assert stored_provider_key(env, "openai") is None


def test_dry_run_prints_the_plan_and_changes_nothing(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = copy_sample(tmp_path)
    before = everything(env)
    code, out, _ = run(capsys, "config", "import", str(tree), "--dry-run")
    assert code == 0
    assert "would create provider anthropic  [providers/anthropic.yaml]" in out
    assert "would create channel  website  [channels.yaml]" in out
    assert out.rstrip().endswith("dry run, nothing written: 10 to create, 0 to update, 0 unchanged")
    assert everything(env) == before

    assert run(capsys, "config", "import", str(tree))[0] == 0
    written = everything(env)
    agent = tree / "agents" / "researcher" / "config.yaml"
    agent.write_text(agent.read_text().replace("max_tokens: 4096", "max_tokens: 8192"))
    code, out, _ = run(capsys, "config", "import", str(tree), "--dry-run")
    assert "would update agent    researcher  [agents/researcher/config.yaml] (max_tokens)" in out
    assert out.rstrip().endswith("dry run, nothing written: 0 to create, 1 to update, 9 unchanged")
    assert everything(env) == written


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _replace(path: Path, old: str, new: str) -> None:
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))


BAD_TREES = {
    "malformed-yaml": (
        lambda tree: _replace(tree / "models.yaml", "    provider: openai\n", "    provider: [openai\n"),
        "models.yaml:14: malformed YAML: expected ',' or ']', but got ':' (while parsing a flow sequence on line 13)",
    ),
    "unknown-field": (
        lambda tree: _append(tree / "agents" / "researcher" / "config.yaml", "colour: blue\n"),
        "agents/researcher/config.yaml:8: colour: unknown field",
    ),
    "wrong-type": (
        lambda tree: _replace(tree / "agents" / "support-bot" / "config.yaml", "temperature: 0.3", "temperature: hot"),
        "agents/support-bot/config.yaml:9: temperature: expected a number, got a string ('hot')",
    ),
    "wrong-type-in-a-list": (
        lambda tree: _replace(tree / "models.yaml", "    enabled: false", "    enabled: maybe"),
        "models.yaml:14: models[2].enabled: expected true or false, got a string ('maybe')",
    ),
    "unknown-provider": (
        lambda tree: _append(tree / "models.yaml", "  - id: mistral-large\n    provider: mistral\n"),
        "models.yaml:16: models[3].provider: names no provider: 'mistral' is neither in providers/ nor in the org",
    ),
    "same-agent-id": (
        lambda tree: shutil.copytree(tree / "agents" / "researcher", tree / "agents" / "researcher-copy"),
        "agents/researcher/config.yaml:1: id: 'researcher' is also the id of agents/researcher-copy/config.yaml",
    ),
    "api-key-in-a-file": (
        lambda tree: _append(tree / "providers" / "openai.yaml", "api_key: sk-secret\n"),
        "providers/openai.yaml:5: api_key: is never read from a file: keep the key in an environment variable",
    ),
    "secret-in-channel-settings": (
        lambda tree: _replace(tree / "channels.yaml", "bot_token_env:", "bot_token:"),
        "channels.yaml:14: channels[1].settings.bot_token: looks like a secret: put it in an environment variable",
    ),
    "unknown-agent-of-a-channel": (
        lambda tree: _replace(tree / "channels.yaml", "agent: researcher", "agent: writer"),
        "channels.yaml:17: channels[2].agent: names no agent: 'writer' is neither in agents/ nor in the org",
    ),
    "unknown-tool": (
        lambda tree: _append(tree / "agents" / "researcher" / "config.yaml", "tools:\n  - web_search\n"),
        "agents/researcher/config.yaml:9: tools[0]: names no tool of the org: 'web_search'",
    ),
    "disabled-model": (
        lambda tree: _replace(tree / "agents" / "researcher" / "config.yaml", "claude-haiku-4-5", "gpt-4o"),
        "agents/researcher/config.yaml:4: model: 'gpt-4o' is not one of the org's enabled models of provider",
    ),
}


@pytest.mark.parametrize("case", BAD_TREES, ids=list(BAD_TREES))
def test_a_bad_tree_is_refused_naming_file_line_and_field_and_nothing_is_written(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    tree = copy_sample(tmp_path)
    # An import before the bad one: what it wrote must stay exactly as it is, and the change below must not land.
    assert run(capsys, "config", "import", str(tree))[0] == 0
    _replace(tree / "agents" / "researcher" / "config.yaml", "max_tokens: 4096", "max_tokens: 8192")
    before = everything(env)

    spoil, message = BAD_TREES[case]
    spoil(tree)
    code, _, err = run(capsys, "config", "import", str(tree))
    assert code == 2
    assert f"agentpress: {tree}/{message}" in err, err
    assert err.rstrip().endswith("agentpress: nothing was imported")
    assert everything(env) == before


def test_every_problem_is_reported_at_once(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = copy_sample(tmp_path)
    _append(tree / "agents" / "researcher" / "config.yaml", "colour: blue\n")
    _replace(tree / "agents" / "support-bot" / "config.yaml", "max_tokens: 1024", "max_tokens: -1")
    _replace(tree / "providers" / "openai.yaml", "kind: openai", "kind: open-ai")
    code, _, err = run(capsys, "config", "import", str(tree))
    assert code == 2
    assert "agents/researcher/config.yaml:8: colour: unknown field" in err
    assert "agents/support-bot/config.yaml:10: max_tokens: input should be greater than 0" in err
    assert "providers/openai.yaml:2: kind: expected one of 'anthropic', 'openai'" in err
    assert one(env, "SELECT count(*) FROM model_providers") == 0


def test_session_history_and_telemetry_are_not_imported(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = copy_sample(tmp_path)
    (tree / "sessions" / "2024").mkdir(parents=True)
    (tree / "sessions" / "2024" / "chat.jsonl").write_text("{not yaml at all\n")
    (tree / "telemetry.json").write_text("{}")
    (tree / "agents" / "support-bot" / "history").mkdir()
    (tree / "agents" / "support-bot" / "history" / "1.json").write_text("[")
    code, out, _ = run(capsys, "config", "import", str(tree))
    assert code == 0
    assert "not imported (not part of the configuration): agents/support-bot/history/, sessions/, telemetry.json" in out


def test_export_writes_only_the_layout_and_keeps_other_files(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "config", "import", str(SAMPLE))[0] == 0
    target = tmp_path / "viben"
    (target / "sessions").mkdir(parents=True)
    (target / "sessions" / "keep.jsonl").write_text("{}")
    code, out, _ = run(capsys, "config", "export", str(target))
    assert code == 0
    assert out.startswith(f"wrote 6 file(s) of org default to {target}")
    assert (target / "sessions" / "keep.jsonl").read_text() == "{}"
    # The sample's own comments aside, the export is the sample: what the desktop wrote comes back.
    assert sorted(tree_of(target)) == sorted(tree_of(SAMPLE))
    assert (target / "agents" / "researcher" / "config.yaml").read_text() == (
        "id: researcher\n"
        "name: Researcher\n"
        "description: Reads sources and writes cited summaries\n"
        "model: claude-haiku-4-5\n"
        "provider: anthropic\n"
        "system_prompt: Summarise what you find, and cite every source.\n"
        "max_tokens: 4096\n"
    )


def test_an_unknown_org_or_folder_is_exit_2(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "config", "import", str(SAMPLE), "--org", "nope")
    assert (code, err.strip()) == (2, "agentpress: no org has the slug 'nope'")
    code, _, err = run(capsys, "config", "import", str(tmp_path / "missing"))
    assert code == 2
    assert err.strip() == f"agentpress: {tmp_path / 'missing'}: no such directory"


def test_yaml_aliases_are_refused_so_a_billion_laughs_stays_small() -> None:
    laughs = b"a: &a [lol, lol]\nb: &b [*a, *a]\nc: &c [*b, *b]\nmodels: *c\n"
    with pytest.raises(LayoutError) as refused:
        parse_tree({"models.yaml": laughs})
    assert str(refused.value) == "models.yaml:2: b[0]: aliases (*name) are not supported"


def test_an_archive_that_expands_beyond_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "MAX_ARCHIVE_BYTES", 1 << 20)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("sessions/history.jsonl")
        info.size = 2 << 20
        archive.addfile(info, io.BytesIO(bytes(info.size)))
    bomb = gzip.compress(raw.getvalue())
    assert len(bomb) < 10_000
    with pytest.raises(LayoutError) as refused:
        read_archive(bomb)
    assert str(refused.value) == "archive: expands to more than 1 MiB"
