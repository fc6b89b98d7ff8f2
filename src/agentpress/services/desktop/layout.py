"""The layout's files: their YAML schemas, reading a folder or archive with file/line/field errors, writing them."""

from __future__ import annotations

import functools
import gzip
import io
import math
import os
import re
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from agentpress.models.channels import ChannelKind
from agentpress.models.llms import BASE_URL_PATTERN, MAX_BASE_URL_LENGTH, MAX_INT, PROVIDER_NAME_PATTERN, ProviderKind

AGENTS_DIR = "agents"
AGENT_FILE = "config.yaml"
PROVIDERS_DIR = "providers"
MODELS_FILE = "models.yaml"
CHANNELS_FILE = "channels.yaml"
LAYOUT_ROOTS = frozenset({AGENTS_DIR, PROVIDERS_DIR, MODELS_FILE, CHANNELS_FILE})

# The table's check agent_config_ids_config_id_check; an id is also a folder name, so no '/' and no '..'.
CONFIG_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
# The table's check model_providers_api_key_env_check.
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# Channel settings are stored and exported as they are, into files meant for git: a key that names a
# secret is refused, and the secret goes in an environment variable (bot_token_env: SLACK_BOT_TOKEN).
# Strict on purpose: a false alarm costs a rename to ..._env, a miss puts a secret in git. A key is split
# into words (snake_case, kebab-case, camelCase, dots) and refused when a word is one of SECRET_WORDS,
# contains one of SECRET_PARTS (bottoken, clientsecret) or ends in "key" (secretkey, accessKey).
SECRET_WORDS = frozenset({"auth", "authorization", "bearer", "cookie", "dsn", "jwt", "passphrase", "pwd", "salt"})
# A hook's URL is its secret: whoever has a Slack or Discord webhook URL can post with it.
SECRET_PARTS = ("token", "secret", "passw", "credential", "apikey", "hook")
_KEY_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# A file of the layout: the longest field (a system prompt) is 200,000 characters, and the pure-Python
# YAML parser takes about 2 s a MiB, so a larger file is a mistake or an attack, not a configuration.
MAX_FILE_BYTES = 1 << 20
# What an uploaded archive may hold: a small request must not expand into gigabytes or a million files.
# The bytes counted are those decompressed, as read (a header's declared size may lie), zip and tar alike.
MAX_ARCHIVE_BYTES = 32 << 20
MAX_ARCHIVE_FILES = 20_000
# Files of the layout (agents, providers, ...) in one archive: each is parsed and validated.
MAX_LAYOUT_FILES = 1_000

Files = dict[str, bytes]
"""A tree as relative POSIX paths (`agents/support/config.yaml`) and their contents."""
FieldPath = tuple[str | int, ...]
Role = Literal["agent", "provider", "models", "channels"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the tree, located as precisely as known."""

    file: str
    line: int | None
    field: str | None
    message: str

    @property
    def where(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return where if self.field is None else f"{where}: {self.field}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class LayoutError(Exception):
    """The tree cannot be imported, and nothing was written.

    `references`: the files are well-formed, but what they name does not exist.
    """

    def __init__(self, problems: list[Problem], *, references: bool = False) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems
        self.references = references


class LimitError(LayoutError):
    """The archive is over one of its limits (a file's size, what it expands to, how many files it holds):
    reading stopped there."""


def over_limit(where: str, message: str) -> LimitError:
    return LimitError([Problem(where, None, None, message)])


# The files' schemas, in the desktop's field names. Strict: a YAML string is not a number, and a field
# the layout does not have is an error rather than silently dropped.
_STRICT = ConfigDict(extra="forbid", strict=True)


class AgentConfig(BaseModel):
    """agents/<id>/config.yaml. Stored as: system_prompt → prompt, model → primary_model,
    provider → primary_model_provider, temperature → primary_model_temperature."""

    model_config = _STRICT

    id: str | None = Field(default=None, pattern=CONFIG_ID_PATTERN, description="default: the folder's name")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    model: str | None = Field(default=None, min_length=1, max_length=200)
    provider: str | None = Field(default=None, min_length=1, max_length=64)
    system_prompt: str | None = Field(default=None, max_length=200_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0, le=MAX_INT)
    tools: list[str] = Field(default=[], max_length=200, description="names of the org's tools")
    knowledge_bases: list[str] = Field(default=[], max_length=200, description="names of the org's knowledge bases")
    enabled: bool = True
    archived: bool = False


class ProviderConfig(BaseModel):
    """providers/<name>.yaml. The API key is never in the file, only the environment variable that holds it."""

    model_config = _STRICT

    name: str | None = Field(default=None, max_length=64, pattern=PROVIDER_NAME_PATTERN, description="default: file")
    kind: ProviderKind
    base_url: str | None = Field(default=None, max_length=MAX_BASE_URL_LENGTH, pattern=BASE_URL_PATTERN)
    api_key_env: str | None = Field(default=None, pattern=ENV_NAME_PATTERN)
    enabled: bool = True


class ModelConfig(BaseModel):
    """One entry of models.yaml; `id` is the provider's model id (models.name), `name` its display name."""

    model_config = _STRICT

    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    provider: str = Field(min_length=1, max_length=64)
    base_model: str | None = Field(default=None, max_length=200)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0, le=MAX_INT)
    enabled: bool = True


class ModelsFile(BaseModel):
    """models.yaml: the org's models and which one is the default (its id, or provider/id when ambiguous)."""

    model_config = _STRICT

    default: str | None = Field(default=None, min_length=1, max_length=300)
    models: list[ModelConfig] = []


class ChannelConfig(BaseModel):
    """One entry of channels.yaml; `agent` is the id of an agent of the tree or the org."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    agent: str | None = Field(default=None, pattern=CONFIG_ID_PATTERN)
    settings: dict[str, Any] = {}
    enabled: bool = True


class ChannelsFile(BaseModel):
    model_config = _STRICT

    channels: list[ChannelConfig] = []


@dataclass(frozen=True)
class Document(Generic[M]):
    """A parsed file: its path, its value, and the line of every field, for messages."""

    file: str
    value: M
    lines: dict[FieldPath, int]
    key: str = ""
    """The agent's id or the provider's name (from the file, else from its folder or file name)."""

    def line(self, path: FieldPath) -> int | None:
        return _line(self.lines, path)

    def problem(self, path: FieldPath, message: str) -> Problem:
        return Problem(self.file, self.line(path), format_path(path) or None, message)


@dataclass(frozen=True)
class Tree:
    """A checked tree, ready to import."""

    agents: list[Document[AgentConfig]]
    providers: list[Document[ProviderConfig]]
    models: Document[ModelsFile] | None
    channels: Document[ChannelsFile] | None
    default_model: tuple[str, str] | None = None
    """models.yaml's default resolved to (provider, id)."""
    skipped: list[str] = field(default_factory=list)
    """What was there but is not part of the layout (session history, telemetry, ...)."""


def format_path(path: FieldPath) -> str:
    """('models', 2, 'temperature') → models[2].temperature."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line(lines: dict[FieldPath, int], path: FieldPath) -> int | None:
    # A field the file does not have (a missing one) is reported at the line of what holds it.
    while path not in lines:
        if not path:
            return None
        path = path[:-1]
    return lines[path]


def classify(path: str) -> Role | None:
    """Which file of the layout a relative path is, or None when it is not part of the layout."""
    parts = path.split("/")
    if parts == [MODELS_FILE]:
        return "models"
    if parts == [CHANNELS_FILE]:
        return "channels"
    if len(parts) == 2 and parts[0] == PROVIDERS_DIR and parts[1].endswith(".yaml") and len(parts[1]) > 5:
        return "provider"
    if len(parts) == 3 and parts[0] == AGENTS_DIR and parts[2] == AGENT_FILE:
        return "agent"
    return None


# Reading YAML with the line of every key.


class _AliasError(Exception):
    """An alias (*name): `*a` repeated in `*a` nests exponentially ("billion laughs"), and an uploaded file must
    not make the server walk that; configuration files have no use for aliases."""

    def __init__(self, path: FieldPath) -> None:
        super().__init__(format_path(path))
        self.path = path


def _load(file: str, content: bytes, problems: list[Problem]) -> tuple[Any, dict[FieldPath, int]] | None:
    """The file's value and the line of each field; None (and a problem) when it is not YAML."""
    # Safe: plain data only, never a Python object; composed first, for the line of every key.
    loader = yaml.SafeLoader(content)
    lines: dict[FieldPath, int] = {(): 1}
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines
        _record_lines(file, node, (), lines, problems, set())
        return loader.construct_document(node), lines
    except _AliasError as exc:
        problems.append(
            Problem(file, _line(lines, exc.path), format_path(exc.path) or None, "aliases (*name) are not supported")
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"malformed YAML: {exc.problem or exc}"
        if exc.context and exc.context_mark is not None:
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        problems.append(Problem(file, None if mark is None else mark.line + 1, None, message))
    except yaml.YAMLError as exc:
        # Not text at all (bytes that are not UTF-8 or UTF-16, say): PyYAML's reader says where.
        problems.append(Problem(file, None, None, f"malformed YAML: {exc}"))
    except RecursionError:
        problems.append(Problem(file, None, None, "malformed YAML: nested too deeply"))
    finally:
        loader.dispose()
    return None


def _record_lines(
    file: str,
    node: yaml.Node,
    path: FieldPath,
    lines: dict[FieldPath, int],
    problems: list[Problem],
    visited: set[int],
) -> None:
    # The composer hands an alias over as the very node its anchor made: a node met twice is one.
    if id(node) in visited:
        raise _AliasError(path)
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a complex key: no field of the layout is one, so the schema refuses it
            key, line = str(key_node.value), key_node.start_mark.line + 1
            if key in seen:
                # PyYAML keeps the last silently; a merge mistake should not pass unnoticed.
                problems.append(Problem(file, line, format_path((*path, key)), "appears twice"))
            seen.add(key)
            lines[(*path, key)] = line
            _record_lines(file, value_node, (*path, key), lines, problems, visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            if id(item) in visited:
                raise _AliasError((*path, index))  # at the list's line: an alias's node has its anchor's
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(file, item, (*path, index), lines, problems, visited)


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value if len(value) <= 40 else value[:37] + '...'!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        if error["loc"][-1] == "api_key":
            return "is never read from a file: keep the key in an environment variable and name it in api_key_env"
        return "unknown field"
    if kind == "literal_error":
        return f"expected one of {error.get('ctx', {}).get('expected')}, got {_describe(error['input'])}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_describe(error['input'])}"
    message = error["msg"]
    return message[:1].lower() + message[1:]


def _validate(file: str, schema: type[M], data: Any, lines: dict[FieldPath, int], problems: list[Problem]) -> M | None:
    if data is None:
        data = {}  # an empty file: every field left out
    if not isinstance(data, dict):
        problems.append(Problem(file, 1, None, f"expected a mapping of fields, got {_describe(data)}"))
        return None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            path = tuple(error["loc"])
            problems.append(Problem(file, _line(lines, path), format_path(path) or None, _message(error)))
        return None


def is_secret_setting(key: str) -> bool:
    """Whether a channel setting's key names a secret (bot_token, botToken, client-secret, webhook_url,
    secret_key, access_key); one that ends in _env names the environment variable that holds it, and is not."""
    words = [word.lower() for word in _KEY_WORDS.findall(key)]
    if words[-1:] == ["env"]:
        return False
    return any(
        word in SECRET_WORDS or word.endswith("key") or any(part in word for part in SECRET_PARTS) for word in words
    )


def _check_settings(document: Document[ChannelsFile], problems: list[Problem]) -> None:
    """Settings go into jsonb and into files meant for git: JSON values only, and no secrets."""

    def walk(value: Any, path: FieldPath) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(document.problem(path, f"has the key {key!r}: keys must be strings"))
                elif is_secret_setting(key):
                    problems.append(
                        document.problem(
                            (*path, key),
                            f"looks like a secret: put it in an environment variable and name that in {key}_env",
                        )
                    )
                else:
                    walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(document.problem(path, "expected a finite number"))
        elif value is not None and not isinstance(value, str | int | float | bool):
            problems.append(
                document.problem(path, f"expected a string, number, boolean, list or mapping, got {_describe(value)}")
            )

    for index, channel in enumerate(document.value.channels):
        walk(channel.settings, ("channels", index, "settings"))


def parse_tree(files: Files, skipped: list[str] | None = None) -> Tree:
    """Parse and check every file of the layout; LayoutError lists every problem found, file by file."""
    problems: list[Problem] = []
    agents: list[Document[AgentConfig]] = []
    providers: list[Document[ProviderConfig]] = []
    models: Document[ModelsFile] | None = None
    channels: Document[ChannelsFile] | None = None
    for path in sorted(files):
        role = classify(path)
        if role is None:
            continue
        loaded = _load(path, files[path], problems)
        if loaded is None:
            continue
        data, lines = loaded
        if role == "agent":
            agent = _validate(path, AgentConfig, data, lines, problems)
            if agent is not None:
                folder = path.split("/")[1]
                if agent.id is None and not re.fullmatch(CONFIG_ID_PATTERN, folder):
                    problems.append(Problem(path, 1, "id", f"is required: the folder name {folder!r} is not an id"))
                agents.append(Document(path, agent, lines, agent.id or folder))
        elif role == "provider":
            provider = _validate(path, ProviderConfig, data, lines, problems)
            if provider is not None:
                stem = path.split("/")[1].removesuffix(".yaml")
                if provider.name is None and not re.fullmatch(PROVIDER_NAME_PATTERN, stem):
                    problems.append(
                        Problem(path, 1, "name", f"is required: the file name {stem!r} is not a provider name")
                    )
                providers.append(Document(path, provider, lines, provider.name or stem))
        elif role == "models":
            models_file = _validate(path, ModelsFile, data, lines, problems)
            models = None if models_file is None else Document(path, models_file, lines)
        else:
            channels_file = _validate(path, ChannelsFile, data, lines, problems)
            channels = None if channels_file is None else Document(path, channels_file, lines)

    _check_unique(agents, "id", problems)
    _check_unique(providers, "name", problems)
    default_model = None if models is None else _check_models(models, problems)
    if channels is not None:
        seen: dict[str, int] = {}
        for index, channel in enumerate(channels.value.channels):
            if channel.name in seen:
                problems.append(
                    channels.problem(
                        ("channels", index, "name"),
                        f"{channel.name!r} is also the name of channels[{seen[channel.name]}]",
                    )
                )
            seen.setdefault(channel.name, index)
        _check_settings(channels, problems)
    if problems:
        raise LayoutError(problems)
    return Tree(agents, providers, models, channels, default_model, skipped or [])


def _check_unique(documents: list[Document[Any]], key_field: str, problems: list[Problem]) -> None:
    first: dict[str, str] = {}
    for document in documents:
        if document.key in first:
            problems.append(
                document.problem((key_field,), f"{document.key!r} is also the {key_field} of {first[document.key]}")
            )
        first.setdefault(document.key, document.file)


def _check_models(models: Document[ModelsFile], problems: list[Problem]) -> tuple[str, str] | None:
    """Each (provider, id) once; the default resolved to one of them."""
    seen: dict[tuple[str, str], int] = {}
    for index, model in enumerate(models.value.models):
        key = (model.provider, model.id)
        if key in seen:
            problems.append(
                models.problem(("models", index, "id"), f"{model.provider}/{model.id} is also models[{seen[key]}]")
            )
        seen.setdefault(key, index)
    default = models.value.default
    if default is None:
        return None
    # The model's id first: ids like anthropic/claude-3.5-sonnet (OpenRouter's) hold a '/' themselves.
    matches = [key for key in seen if key[1] == default]
    if not matches and "/" in default:
        provider, _, model_id = default.partition("/")
        matches = [key for key in seen if key == (provider, model_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        providers = ", ".join(sorted(provider for provider, _ in matches))
        problems.append(
            models.problem(
                ("default",), f"{default!r} is a model of several providers ({providers}): write provider/id"
            )
        )
    else:
        problems.append(models.problem(("default",), f"{default!r} is not one of the models listed in models"))
    return None


# Reading a folder or an archive.


def read_directory(root: Path) -> tuple[Files, list[str]]:
    """The layout's files under `root`, and the other entries there (not read: session history can be large)."""
    if not root.is_dir():
        raise LayoutError([Problem(str(root), None, None, "is not a directory")])
    files: Files = {}
    skipped: list[str] = []
    problems: list[Problem] = []

    def read(path: Path, relative: str) -> None:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(Problem(relative, None, None, f"is larger than {MAX_FILE_BYTES >> 20} MiB"))
        else:
            files[relative] = path.read_bytes()

    for entry in sorted(root.iterdir()):
        name = entry.name
        if name.startswith("."):
            continue
        if name in (MODELS_FILE, CHANNELS_FILE) and entry.is_file():
            read(entry, name)
        elif name == AGENTS_DIR and entry.is_dir():
            for folder in sorted(entry.iterdir()):
                if folder.name.startswith("."):
                    continue
                if not (folder / AGENT_FILE).is_file():
                    skipped.append(f"{AGENTS_DIR}/{folder.name}" + ("/" if folder.is_dir() else ""))
                    continue
                read(folder / AGENT_FILE, f"{AGENTS_DIR}/{folder.name}/{AGENT_FILE}")
                skipped.extend(
                    f"{AGENTS_DIR}/{folder.name}/{other.name}" + ("/" if other.is_dir() else "")
                    for other in sorted(folder.iterdir())
                    if other.name != AGENT_FILE and not other.name.startswith(".")
                )
        elif name == PROVIDERS_DIR and entry.is_dir():
            for path in sorted(entry.iterdir()):
                relative = f"{PROVIDERS_DIR}/{path.name}"
                if path.is_file() and classify(relative) == "provider":
                    read(path, relative)
                elif not path.name.startswith("."):
                    skipped.append(relative)
        else:
            skipped.append(name + ("/" if entry.is_dir() else ""))
    if problems:
        raise LayoutError(problems)
    return files, skipped


class _Budget:
    """The decompressed bytes an archive may still yield, counted as they are read."""

    def __init__(self, limit: int) -> None:
        self.limit, self.left = limit, limit
        self.where = "archive"
        """The member being read, to name in the error (the archive itself between members)."""

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise over_limit(self.where, f"expands to more than {self.limit >> 20} MiB")


class _Capped(io.RawIOBase):
    """A stream that fails once its budget is spent (a gzip bomb stops there)."""

    def __init__(self, inner: io.BufferedIOBase, budget: _Budget) -> None:
        self._inner, self._budget = inner, budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._inner.read(len(buffer))
        self._budget.spend(len(chunk))
        buffer[: len(chunk)] = chunk
        return len(chunk)


Member = tuple[str, int, Callable[[], bytes]]


def _zip_members(data: bytes, budget: _Budget) -> Iterator[Member]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.is_dir():
                yield info.filename, info.file_size, functools.partial(_read_zip_member, archive, info, budget)


def _read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> bytes:
    # Only members of the layout are read (the others are skipped without decompressing them), at most one
    # byte past the file limit, and what was read counts against the archive's budget as with a tar.
    with archive.open(info) as member:
        content = member.read(min(MAX_FILE_BYTES, max(budget.left, 0)) + 1)
    budget.where = info.filename
    budget.spend(len(content))
    return content


def _tar_members(data: bytes, budget: _Budget) -> Iterator[Member]:
    raw: io.BufferedIOBase = io.BytesIO(data)
    if data[:2] == b"\x1f\x8b":
        raw = gzip.GzipFile(fileobj=raw)
    # Streamed ("r|"): each member is read, if at all, before the next one is looked at; every byte
    # decompressed counts, the members skipped too (the stream has to pass through them).
    with tarfile.open(fileobj=io.BufferedReader(_Capped(raw, budget)), mode="r|") as archive:
        for member in archive:
            if member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                yield member.name, member.size, functools.partial(_read_tar_member, extracted, member.name, budget)


def _read_tar_member(extracted: IO[bytes], name: str, budget: _Budget) -> bytes:
    budget.where = name
    try:
        return extracted.read(MAX_FILE_BYTES + 1)
    finally:
        budget.where = "archive"


def read_archive(data: bytes) -> tuple[Files, list[str]]:
    """The layout's files in a zip or tar (optionally gzip) archive of the tree, and the other entries.

    The tree may be the archive's root or its only folder (`zip -r viben.zip .viben`). Over a limit
    (MAX_FILE_BYTES, MAX_ARCHIVE_BYTES, MAX_ARCHIVE_FILES, MAX_LAYOUT_FILES) it raises LimitError naming
    the file, and reads nothing further.
    """
    if not data:
        raise LayoutError([Problem("archive", None, None, "is empty: send a zip or tar archive of the tree")])
    budget = _Budget(MAX_ARCHIVE_BYTES)
    members = _zip_members(data, budget) if zipfile.is_zipfile(io.BytesIO(data)) else _tar_members(data, budget)
    candidates: Files = {}
    names: list[list[str]] = []
    try:
        for count, (name, size, read) in enumerate(members):
            if count >= MAX_ARCHIVE_FILES:
                raise over_limit("archive", f"holds more than {MAX_ARCHIVE_FILES} files")
            parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
            if not parts or ".." in parts or parts[0] == "__MACOSX" or parts[-1].startswith("."):
                continue
            names.append(parts)
            # Read now (a streamed tar cannot come back), both as at the root and as under one folder.
            if classify("/".join(parts)) or classify("/".join(parts[1:])):
                if len(candidates) >= MAX_LAYOUT_FILES:
                    raise over_limit("archive", f"holds more than {MAX_LAYOUT_FILES} files of the layout")
                # The size a header declares is checked first, what was read too: a header may lie.
                if size > MAX_FILE_BYTES or len(content := read()) > MAX_FILE_BYTES:
                    raise over_limit("/".join(parts), f"is larger than {MAX_FILE_BYTES >> 20} MiB")
                candidates["/".join(parts)] = content
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise LayoutError([Problem("archive", None, None, f"is not a readable zip or tar archive: {exc}")]) from None

    firsts = {parts[0] for parts in names}
    strip = 1 if len(firsts) == 1 and not firsts & LAYOUT_ROOTS and all(len(parts) > 1 for parts in names) else 0
    files: Files = {}
    skipped: set[str] = set()
    for full in names:
        parts = full[strip:]
        path = "/".join(parts)
        if classify(path):
            files[path] = candidates["/".join(full)]
        elif parts[0] not in LAYOUT_ROOTS:
            skipped.add(parts[0] + ("/" if len(parts) > 1 else ""))
        elif parts[0] == AGENTS_DIR and len(parts) > 2:
            skipped.add("/".join(parts[:3]) + ("/" if len(parts) > 3 else ""))
        else:
            skipped.add(path)
    return files, sorted(skipped)


# Writing.


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, and multi-line text (prompts) as `|` blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: dict[str, Any]) -> bytes:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120)
    return text.encode()


def render(
    *,
    agents: list[AgentConfig],
    providers: list[ProviderConfig],
    models: ModelsFile,
    channels: ChannelsFile,
) -> Files:
    """The files of a tree; fields left at their defaults are left out, as the desktop writes them."""
    files: Files = {}
    for provider in providers:
        files[f"{PROVIDERS_DIR}/{provider.name}.yaml"] = dump_yaml(provider.model_dump(exclude_defaults=True))
    head = {} if models.default is None else {"default": models.default}
    files[MODELS_FILE] = dump_yaml(
        {**head, "models": [model.model_dump(exclude_defaults=True) for model in models.models]}
    )
    for agent in agents:
        files[f"{AGENTS_DIR}/{agent.id}/{AGENT_FILE}"] = dump_yaml(agent.model_dump(exclude_defaults=True))
    files[CHANNELS_FILE] = dump_yaml(
        {"channels": [channel.model_dump(exclude_defaults=True) for channel in channels.channels]}
    )
    return files


def write_directory(root: Path, files: Files) -> list[Path]:
    """Write each file (atomically: a reader never sees half of one); other files under `root` are left alone."""
    written = []
    for relative, content in sorted(files.items()):
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(path)
    return written


ArchiveFormat = Literal["zip", "tar"]


def build_archive(files: Files, archive_format: ArchiveFormat, *, folder: str = "") -> bytes:
    """A zip, or a gzip-compressed tar, of the files (under `folder` when given)."""
    prefix = f"{folder}/" if folder else ""
    buffer = io.BytesIO()
    if archive_format == "zip":
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for relative, content in sorted(files.items()):
                archive.writestr(prefix + relative, content)
    else:
        now = time.time()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for relative, content in sorted(files.items()):
                info = tarfile.TarInfo(prefix + relative)
                info.size, info.mtime, info.mode = len(content), int(now), 0o644
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
