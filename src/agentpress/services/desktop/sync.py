"""Export an org's configuration in the desktop layout, and import one: plan and apply in one transaction."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from uuid import UUID, uuid4

from psycopg import AsyncConnection, IsolationLevel, Rollback
from pydantic import BaseModel

from agentpress.models.agents import Agent, AgentFields
from agentpress.models.channels import Channel, ChannelFields
from agentpress.models.config import ModelProviderApiKey
from agentpress.models.llms import Model, ModelProvider
from agentpress.repositories import agents, channels, config, knowledge_bases, llms, tools
from agentpress.services.crypto import Encryptor, provider_api_key
from agentpress.services.desktop.layout import (
    AgentConfig,
    ChannelConfig,
    ChannelsFile,
    Document,
    Files,
    LayoutError,
    ModelConfig,
    ModelsFile,
    Problem,
    ProviderConfig,
    Tree,
    render,
)

T = TypeVar("T")
PAGE_SIZE = 500

ItemKind = Literal["provider", "model", "agent", "channel"]
Action = Literal["created", "updated", "unchanged"]


class ImportedItem(BaseModel):
    """One item of the tree and what the import did (or, in a dry run, would do) with it."""

    kind: ItemKind
    key: str
    file: str
    action: Action
    changed: list[str] = []
    """For an update: the fields that change, in the layout's names."""


class ImportSummary(BaseModel):
    dry_run: bool
    created: int
    updated: int
    unchanged: int
    items: list[ImportedItem]
    warnings: list[str]
    skipped: list[str]
    """Entries of the tree that are not part of the layout, and were not read (session history, telemetry)."""


async def _all(fetch: Callable[[int, int], Awaitable[list[T]]]) -> list[T]:
    """Every row of a paged listing."""
    items: list[T] = []
    while True:
        page = await fetch(PAGE_SIZE, len(items))
        items.extend(page)
        if len(page) < PAGE_SIZE:
            return items


async def _items(listing: Awaitable[tuple[list[T], int]]) -> list[T]:
    items, _ = await listing
    return items


def _held(row: T | None, what: str) -> T:
    """A row this import's transaction read and holds, as its update returned it: an error (not an assert,
    which python -O strips) if it is gone all the same."""
    if row is None:
        raise LookupError(f"{what} is no longer there, though this transaction holds it")
    return row


def conventional_key_env(provider_name: str) -> str:
    """The variable an export names for a key set through the API: anthropic → ANTHROPIC_API_KEY."""
    return re.sub(r"[^A-Za-z0-9]", "_", provider_name).upper() + "_API_KEY"


@dataclass
class OrgConfig:
    """What the org has now, keyed as the layout keys it."""

    providers: dict[str, ModelProvider]
    provider_keys: dict[UUID, ModelProviderApiKey]
    models: dict[tuple[str, str], Model]
    """By (provider name, model id)."""
    agents: dict[str, Agent]
    """By the agent's id in the layout: the id it had in the tree it was imported from, else its own."""
    config_ids: dict[UUID, str]
    tool_ids: dict[str, UUID]
    tool_names: dict[UUID, str]
    knowledge_base_ids: dict[str, list[UUID]]
    """Knowledge base names are not unique in an org: a name may stand for several."""
    knowledge_base_names: dict[UUID, str]
    channels: dict[str, Channel]

    def find_agent(self, key: str) -> Agent | None:
        """The agent a tree names: by its id in the layout, or by its own id (as the API shows it)."""
        found = self.agents.get(key)
        if found is not None:
            return found
        try:
            config_id = self.config_ids.get(UUID(key))
        except ValueError:
            return None
        return None if config_id is None else self.agents.get(config_id)

    def key_env(self, provider: ModelProvider) -> str | None:
        stored = self.provider_keys.get(provider.id)
        if stored is not None and stored.api_key_env is not None:
            return stored.api_key_env
        return conventional_key_env(provider.name) if provider.has_api_key else None

    def provider_entry(self, provider: ModelProvider) -> ProviderConfig:
        # model_construct: what the database holds is exported as it is, even where the layout's checks
        # are stricter than the table's (a description longer than the API allows, say).
        return ProviderConfig.model_construct(
            name=provider.name,
            kind=provider.kind,
            base_url=provider.base_url,
            api_key_env=self.key_env(provider),
            enabled=provider.is_enabled,
        )

    def model_entry(self, model: Model, provider_name: str) -> ModelConfig:
        return ModelConfig.model_construct(
            id=model.name,
            name=model.display_name,
            provider=provider_name,
            base_model=model.base_model,
            temperature=model.temperature,
            max_tokens=model.max_tokens,
            enabled=model.is_enabled,
        )

    def agent_entry(self, agent: Agent, config_id: str) -> AgentConfig:
        return AgentConfig.model_construct(
            id=config_id,
            name=agent.name,
            description=agent.description,
            model=agent.primary_model,
            provider=agent.primary_model_provider,
            system_prompt=agent.prompt,
            temperature=agent.primary_model_temperature,
            max_tokens=agent.max_tokens,
            tools=sorted(self.tool_names[tool_id] for tool_id in agent.tools_enabled),
            knowledge_bases=sorted(self.knowledge_base_names[kb_id] for kb_id in agent.rag_enabled),
            enabled=agent.is_enabled,
            archived=agent.is_archived,
        )

    def channel_entry(self, channel: Channel) -> ChannelConfig:
        return ChannelConfig.model_construct(
            name=channel.name,
            kind=channel.kind,
            agent=None if channel.agent_id is None else self.config_ids.get(channel.agent_id, str(channel.agent_id)),
            settings=channel.settings,
            enabled=channel.is_enabled,
        )


async def load_org_config(conn: AsyncConnection[Any], *, org_id: UUID) -> OrgConfig:
    """Read everything the layout holds of the org (and the tools and knowledge bases agents name)."""
    providers = await _all(
        lambda limit, offset: llms.list_model_providers(conn, org_id=org_id, limit=limit, offset=offset)
    )
    keys = await _all(
        lambda limit, offset: config.list_model_provider_api_keys(conn, org_id=org_id, limit=limit, offset=offset)
    )
    model_rows = await _all(
        lambda limit, offset: llms.list_models(
            conn, org_id=org_id, provider_id=None, is_enabled=None, limit=limit, offset=offset
        )
    )
    agent_rows = await _all(
        lambda limit, offset: _items(
            agents.list_agents(
                conn, org_id=org_id, pattern=None, is_archived=None, is_enabled=None, limit=limit, offset=offset
            )
        )
    )
    config_ids = await _all(
        lambda limit, offset: config.list_agent_config_ids(conn, org_id=org_id, limit=limit, offset=offset)
    )
    tool_rows = await _all(
        lambda limit, offset: _items(
            tools.list_tools(conn, org_id=org_id, kind=None, is_enabled=None, limit=limit, offset=offset)
        )
    )
    knowledge_base_rows = await _all(
        lambda limit, offset: _items(
            knowledge_bases.list_knowledge_bases(conn, org_id=org_id, limit=limit, offset=offset)
        )
    )
    channel_rows = await _all(
        lambda limit, offset: channels.list_channels(conn, org_id=org_id, limit=limit, offset=offset)
    )

    provider_names = {provider.id: provider.name for provider in providers}
    agent_config_ids = {row.agent_id: row.config_id for row in config_ids}
    knowledge_base_ids: dict[str, list[UUID]] = {}
    for knowledge_base in knowledge_base_rows:
        knowledge_base_ids.setdefault(knowledge_base.name, []).append(knowledge_base.id)
    return OrgConfig(
        providers={provider.name: provider for provider in providers},
        provider_keys={key.id: key for key in keys},
        models={(provider_names[model.provider_id], model.name): model for model in model_rows},
        agents={agent_config_ids.get(agent.id, str(agent.id)): agent for agent in agent_rows},
        config_ids={agent.id: agent_config_ids.get(agent.id, str(agent.id)) for agent in agent_rows},
        tool_ids={tool.name: tool.id for tool in tool_rows},
        tool_names={tool.id: tool.name for tool in tool_rows},
        knowledge_base_ids=knowledge_base_ids,
        knowledge_base_names={knowledge_base.id: knowledge_base.name for knowledge_base in knowledge_base_rows},
        channels={channel.name: channel for channel in channel_rows},
    )


@asynccontextmanager
async def _snapshot(conn: AsyncConnection[Any]) -> AsyncIterator[None]:
    """One read-only snapshot: an export taken while others change the org is still one consistent state."""
    isolation_level, read_only = conn.isolation_level, conn.read_only
    await conn.set_isolation_level(IsolationLevel.REPEATABLE_READ)
    await conn.set_read_only(True)
    try:
        async with conn.transaction():
            yield
    finally:
        # The connection goes back to the pool: the next user gets it as it was.
        await conn.set_isolation_level(isolation_level)
        await conn.set_read_only(read_only)


async def export_org(conn: AsyncConnection[Any], *, org_id: UUID) -> Files:
    """The org's providers, models, agents and channels as the layout's files. No secret is written."""
    async with _snapshot(conn):
        state = await load_org_config(conn, org_id=org_id)
    providers = [state.provider_entry(provider) for provider in state.providers.values()]
    model_entries: list[ModelConfig] = []
    default = None
    for (provider_name, model_id), model in sorted(state.models.items()):
        model_entries.append(state.model_entry(model, provider_name))
        if model.is_default:
            ambiguous = sum(1 for _, other in state.models if other == model_id) > 1
            default = f"{provider_name}/{model_id}" if ambiguous else model_id
    agent_entries = [state.agent_entry(agent, config_id) for config_id, agent in sorted(state.agents.items())]
    channel_entries = [state.channel_entry(channel) for channel in state.channels.values()]
    return render(
        agents=agent_entries,
        providers=providers,
        models=ModelsFile.model_construct(default=default, models=model_entries),
        channels=ChannelsFile.model_construct(channels=channel_entries),
    )


def _diff(desired: BaseModel, current: BaseModel, *, ignore: frozenset[str] = frozenset()) -> list[str]:
    """The fields whose values differ, in the layout's names."""
    wanted, have = desired.model_dump(), current.model_dump()
    return [name for name, value in wanted.items() if name not in ignore and value != have.get(name)]


@dataclass
class _Import:
    """One import: the org's state as it goes, and what it found and did."""

    conn: AsyncConnection[Any]
    org_id: UUID
    state: OrgConfig
    encryptor: Encryptor
    environ: Mapping[str, str] | None
    actor: UUID | None
    items: list[ImportedItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def record(self, kind: ItemKind, key: str, file: str, changed: list[str] | None = None) -> None:
        action: Action = "created" if changed is None else ("updated" if changed else "unchanged")
        self.items.append(ImportedItem(kind=kind, key=key, file=file, action=action, changed=changed or []))

    def _api_key(self, document: Document[ProviderConfig], current: ModelProvider | None) -> str | None:
        """The key to store from the variable the file names, or None to keep the stored one (a warning says why)."""
        env = document.value.api_key_env
        if env is None:
            return None
        has_key = current is not None and current.has_api_key
        if self.environ is None:
            # The server's environment is the operator's, not the org's: over HTTP a file naming
            # APP_SECRET_KEY would otherwise store it as a key sent to a base_url of the uploader's choice.
            if not has_key:
                self.warnings.append(
                    f"{document.file}: {env} is not read over HTTP: set the provider's key with "
                    "PATCH /api/v1/model-providers/{provider_id}, or import with the agentpress command"
                )
            return None
        secret = self.environ.get(env) or None
        if secret is None:
            kept = "the provider keeps its stored key" if has_key else "the provider has no API key"
            self.warnings.append(f"{document.file}: {env} is not set: {kept}")
        return secret

    async def apply_providers(self, documents: list[Document[ProviderConfig]]) -> None:
        for document in documents:
            wanted, name = document.value, document.key
            current = self.state.providers.get(name)
            secret = self._api_key(document, current)
            # A new provider's id is made here, so that its key's ciphertext can be bound to its row.
            provider_id = uuid4() if current is None else current.id
            api_key = None if secret is None else self.encryptor.encrypt(secret, binding=provider_api_key(provider_id))
            if current is None:
                provider = await llms.create_model_provider(
                    self.conn,
                    provider_id=provider_id,
                    org_id=self.org_id,
                    name=name,
                    kind=wanted.kind,
                    base_url=wanted.base_url,
                    api_key=api_key,
                    is_enabled=wanted.enabled,
                )
                if wanted.api_key_env is not None:
                    await config.set_model_provider_api_key_env(
                        self.conn, org_id=self.org_id, provider_id=provider.id, api_key_env=wanted.api_key_env
                    )
                self.state.providers[name] = provider
                self.record("provider", name, document.file)
                continue
            current_env = self.state.key_env(current)
            desired = wanted.model_copy(update={"name": name})
            changed = _diff(desired, self.state.provider_entry(current), ignore=frozenset({"api_key_env"}))
            # Left out, api_key_env keeps what is stored: files never carry keys, so none is removed by one.
            if wanted.api_key_env is not None and wanted.api_key_env != current_env:
                changed.append("api_key_env")
            # A new kind or base_url removes the stored key (see update_model_provider) unless it is set again.
            moved = (wanted.kind, wanted.base_url) != (current.kind, current.base_url)
            set_api_key = secret is not None and (moved or self._stored_key(current) != secret)
            if set_api_key or (moved and current.has_api_key):
                changed.append("api_key")
            if moved and current.has_api_key and not set_api_key:
                self.warnings.append(f"{document.file}: kind or base_url changed: the stored API key was removed")
            if changed:
                updated = await llms.update_model_provider(
                    self.conn,
                    org_id=self.org_id,
                    provider_id=current.id,
                    name=name,
                    kind=wanted.kind,
                    base_url=wanted.base_url,
                    set_api_key=set_api_key,
                    api_key=api_key,
                    is_enabled=wanted.enabled,
                )
                if "api_key_env" in changed:
                    await config.set_model_provider_api_key_env(
                        self.conn, org_id=self.org_id, provider_id=current.id, api_key_env=wanted.api_key_env
                    )
                self.state.providers[name] = _held(updated, f"model provider {current.id}")
            self.record("provider", name, document.file, changed)

    def _stored_key(self, provider: ModelProvider) -> str | None:
        stored = self.state.provider_keys.get(provider.id)
        if stored is None or stored.api_key is None:
            return None
        return self.encryptor.decrypt(stored.api_key, binding=provider_api_key(provider.id))

    async def apply_models(self, document: Document[ModelsFile] | None, default: tuple[str, str] | None) -> None:
        if document is None:
            return
        for index, wanted in enumerate(document.value.models):
            provider = self.state.providers.get(wanted.provider)
            if provider is None:
                self.problems.append(
                    document.problem(
                        ("models", index, "provider"),
                        f"names no provider: {wanted.provider!r} is neither in providers/ nor in the org",
                    )
                )
                continue
            key = (wanted.provider, wanted.id)
            is_default = key == default
            fields: dict[str, Any] = {
                "org_id": self.org_id,
                "provider_id": provider.id,
                "name": wanted.id,
                "display_name": wanted.name,
                "base_model": wanted.base_model,
                "temperature": wanted.temperature,
                "max_tokens": wanted.max_tokens,
                "is_enabled": wanted.enabled,
                "is_default": is_default,
            }
            current = self.state.models.get(key)
            label = f"{wanted.provider}/{wanted.id}"
            if current is None:
                self.state.models[key] = await llms.create_model(self.conn, **fields)
                self.record("model", label, document.file)
                continue
            changed = _diff(wanted, self.state.model_entry(current, wanted.provider))
            if current.is_default != is_default:
                changed.append("default")
            if changed:
                updated = await llms.update_model(self.conn, model_id=current.id, **fields)
                self.state.models[key] = _held(updated, f"model {current.id}")
            self.record("model", label, document.file, changed)

    def _resolve(
        self, document: Document[AgentConfig], field_name: str, names: list[str], ids: Mapping[str, list[UUID]]
    ) -> list[UUID] | None:
        """The ids of the org's tools or knowledge bases an agent names; None (and problems) when one is unknown."""
        what = "tool" if field_name == "tools" else "knowledge base"
        found: set[UUID] = set()
        ok = True
        for index, name in enumerate(names):
            matches = ids.get(name, [])
            if len(matches) == 1:
                found.add(matches[0])
                continue
            ok = False
            message = (
                f"names no {what} of the org: {name!r}"
                if not matches
                else f"{name!r} is the name of {len(matches)} knowledge bases of the org: rename all but one"
            )
            self.problems.append(document.problem((field_name, index), message))
        return sorted(found) if ok else None

    async def apply_agents(self, documents: list[Document[AgentConfig]]) -> None:
        tool_ids = {name: [tool_id] for name, tool_id in self.state.tool_ids.items()}
        for document in documents:
            wanted = document.value
            tools_enabled = self._resolve(document, "tools", wanted.tools, tool_ids)
            rag_enabled = self._resolve(
                document, "knowledge_bases", wanted.knowledge_bases, self.state.knowledge_base_ids
            )
            if tools_enabled is None or rag_enabled is None:
                continue
            known = self.state.find_agent(document.key)
            # Locked before comparing: a change made meanwhile through the API is compared with, not lost.
            current = (
                None
                if known is None
                else await agents.get_agent_for_update(self.conn, org_id=self.org_id, agent_id=known.id)
            )
            changed = None
            if current is not None:
                desired = wanted.model_copy(
                    update={
                        "id": document.key,
                        "tools": sorted(set(wanted.tools)),
                        "knowledge_bases": sorted(set(wanted.knowledge_bases)),
                    }
                )
                changed = _diff(desired, self.state.agent_entry(current, document.key))
                if not changed:
                    self.record("agent", document.key, document.file, changed)
                    continue
            if wanted.model is not None and not await agents.is_allowed_agent_model(
                self.conn, org_id=self.org_id, primary_model=wanted.model, primary_model_provider=wanted.provider
            ):
                of_provider = "" if wanted.provider is None else f" of provider {wanted.provider!r}"
                self.problems.append(
                    document.problem(
                        ("model",), f"{wanted.model!r} is not one of the org's enabled models{of_provider}"
                    )
                )
                continue
            fields = AgentFields(
                name=wanted.name,
                description=wanted.description,
                prompt=wanted.system_prompt,
                primary_model_provider=wanted.provider,
                primary_model=wanted.model,
                primary_model_temperature=wanted.temperature,
                max_tokens=wanted.max_tokens,
                # The layout has no personas: an agent keeps its own, a new one has none.
                persona_id=None if current is None else current.persona_id,
                is_enabled=wanted.enabled,
                is_archived=wanted.archived,
                tools_enabled=tools_enabled,
                rag_enabled=rag_enabled,
            )
            # created_by is nullable (the agents and agent_versions columns, create_agent_versions): an
            # import by the agentpress command has no user. create_agent's annotation is narrower than its SQL.
            if current is None:
                agent = await agents.create_agent(
                    self.conn,
                    org_id=self.org_id,
                    fields=fields,
                    created_by=self.actor,
                )
                await config.create_agent_config_id(
                    self.conn, org_id=self.org_id, config_id=document.key, agent_id=agent.id
                )
                self.state.agents[document.key] = agent
                self.state.config_ids[agent.id] = document.key
                self.record("agent", document.key, document.file)
            else:
                self.state.agents[self.state.config_ids[current.id]] = await agents.save_agent_version(
                    self.conn,
                    org_id=self.org_id,
                    agent_id=current.id,
                    fields=fields,
                    created_by=self.actor,
                )
                self.record("agent", document.key, document.file, changed)

    async def apply_channels(self, document: Document[ChannelsFile] | None, tree_agents: set[str]) -> None:
        if document is None:
            return
        for index, wanted in enumerate(document.value.channels):
            agent_id = None
            if wanted.agent is not None:
                agent = self.state.find_agent(wanted.agent)
                if agent is None:
                    # An agent of the tree that has a problem of its own is not reported twice.
                    if wanted.agent not in tree_agents:
                        self.problems.append(
                            document.problem(
                                ("channels", index, "agent"),
                                f"names no agent: {wanted.agent!r} is neither in agents/ nor in the org",
                            )
                        )
                    continue
                agent_id = agent.id
                # Compared as the export writes it: the agent by its id in the layout, however the file named it.
                wanted = wanted.model_copy(update={"agent": self.state.config_ids[agent.id]})
            fields = ChannelFields(
                name=wanted.name,
                kind=wanted.kind,
                agent_id=agent_id,
                settings=wanted.settings,
                is_enabled=wanted.enabled,
            )
            current = self.state.channels.get(wanted.name)
            if current is None:
                self.state.channels[wanted.name] = await channels.create_channel(
                    self.conn, org_id=self.org_id, fields=fields
                )
                self.record("channel", wanted.name, document.file)
                continue
            changed = _diff(wanted, self.state.channel_entry(current))
            if changed:
                updated = await channels.update_channel(
                    self.conn, org_id=self.org_id, channel_id=current.id, fields=fields
                )
                self.state.channels[wanted.name] = _held(updated, f"channel {current.id}")
            self.record("channel", wanted.name, document.file, changed)


async def import_tree(
    conn: AsyncConnection[Any],
    *,
    org_id: UUID,
    tree: Tree,
    encryptor: Encryptor,
    environ: Mapping[str, str] | None,
    actor: UUID | None,
    dry_run: bool = False,
) -> ImportSummary:
    """Create what is new and update what changed, all or nothing; a dry run does the same, then rolls back.

    `environ`: where api_key_env is looked up (None: nowhere, keys stay as they are). `actor`: who the agents'
    new versions are by (None for the agentpress command). Raises LayoutError (references=True) when what the
    files name does not exist; then nothing is written.
    """
    async with conn.transaction():
        # Imports into one org take turns: each sees what the previous one wrote.
        await config.lock_org_config(conn, org_id=org_id)
        state = await load_org_config(conn, org_id=org_id)
        run = _Import(conn, org_id, state, encryptor, environ, actor)
        await run.apply_providers(tree.providers)
        await run.apply_models(tree.models, tree.default_model)
        await run.apply_agents(tree.agents)
        await run.apply_channels(tree.channels, {document.key for document in tree.agents})
        if run.problems:
            raise LayoutError(run.problems, references=True)
        summary = ImportSummary(
            dry_run=dry_run,
            created=sum(item.action == "created" for item in run.items),
            updated=sum(item.action == "updated" for item in run.items),
            unchanged=sum(item.action == "unchanged" for item in run.items),
            items=run.items,
            warnings=run.warnings,
            skipped=tree.skipped,
        )
        if dry_run:
            raise Rollback  # leaves the transaction block, undoing everything; the summary is the plan
    return summary


def format_summary(summary: ImportSummary) -> str:
    """The summary as the agentpress command prints it: one line per item, then the counts."""
    verbs = (
        {"created": "would create", "updated": "would update", "unchanged": "unchanged"}
        if summary.dry_run
        else {"created": "created", "updated": "updated", "unchanged": "unchanged"}
    )
    lines = []
    for item in summary.items:
        changed = f" ({', '.join(item.changed)})" if item.changed else ""
        lines.append(f"{verbs[item.action]:<12} {item.kind:<8} {item.key}  [{item.file}]{changed}")
    lines.extend(f"warning: {warning}" for warning in summary.warnings)
    if summary.skipped:
        lines.append(f"not imported (not part of the configuration): {', '.join(summary.skipped)}")
    counts = f"{summary.created} created, {summary.updated} updated, {summary.unchanged} unchanged"
    if summary.dry_run:
        counts = (
            f"dry run, nothing written: {summary.created} to create, {summary.updated} to update, "
            f"{summary.unchanged} unchanged"
        )
    lines.append(counts)
    return "\n".join(lines)
