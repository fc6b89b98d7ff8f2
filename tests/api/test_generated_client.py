"""A client generated from /schema/openapi.json by openapi-python-client works: every operation is in it with its
success response typed, and it signs up, makes an org, an agent and a thread and appends to it, on a live service."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

import pytest
from helpers import PASSWORD, SECRET_KEY, serving
from litestar import Litestar
from litestar.testing import TestClient

from agentpress.settings import Settings, load_settings
from agentpress.web.app import create_app

PACKAGE = "agentpress_client"
# The generator takes about 3 s for the whole document here; the bound only stops a hung run.
GENERATE_SECONDS = 120
# What `openapi-python-client generate --path DOCUMENT --meta none --output-path PACKAGE` does, in a process of its
# own (so that the run is bounded), with the generator's findings printed as JSON rather than as coloured text.
# No post hooks: they run ruff over the output (seconds more, and a ruff on PATH), which a client that is imported
# and thrown away does not need.
GENERATOR = """
import json, sys
from pathlib import Path
from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType
document, output = map(Path, sys.argv[1:])
config = Config.from_sources(ConfigFile(post_hooks=[]), MetaType.NONE, document, "utf-8", False, output_path=output)
errors = generate(config=config)
print(json.dumps([{"level": e.level.value, "header": e.header, "detail": e.detail or ""} for e in errors]))
"""
# The generator's one kind of warning that leaves the client whole: a response it cannot type, left out.
# test_every_operation_is_generated_with_its_success_responses_typed checks that none of those is a success.
_OMITTED_RESPONSE = "Cannot parse response for status code"


def snake(name: str) -> str:
    """openapi-python-client's module name for an operation id (the ids here are snake_case already)."""
    return re.sub(r"[^a-z0-9]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()).strip("_")


@pytest.fixture(scope="module")
def document(database_url_module: str, redis_url: str) -> dict[str, Any]:
    """The OpenAPI document as the service serves it."""
    settings = load_settings(
        database_url=database_url_module,
        redis_url=redis_url,
        app_secret_key=SECRET_KEY,
        scheduler_enabled=False,
        analytics_refresh_enabled=False,
    )
    with TestClient(app=create_app(settings)) as client:
        response = client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    parsed: dict[str, Any] = response.json()
    return parsed


@pytest.fixture(scope="module")
def generated(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The client package, generated once per module into a temporary folder and importable as PACKAGE; the
    generator prints nothing unless it fails."""
    folder = tmp_path_factory.mktemp("generated")
    (folder / "openapi.json").write_text(json.dumps(document))
    run = subprocess.run(
        [sys.executable, "-c", GENERATOR, str(folder / "openapi.json"), str(folder / PACKAGE)],
        capture_output=True,
        text=True,
        timeout=GENERATE_SECONDS,
        check=False,
    )
    assert run.returncode == 0, f"openapi-python-client failed:\n{run.stdout}\n{run.stderr}"
    findings = json.loads(run.stdout.splitlines()[-1])
    # Anything else (an error, an operation left out, a parameter or body it cannot type) is a document to fix.
    unexpected = [finding for finding in findings if not finding["detail"].startswith(_OMITTED_RESPONSE)]
    assert unexpected == [], json.dumps(unexpected, indent=2)
    sys.path.insert(0, str(folder))
    try:
        yield folder / PACKAGE
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def client_module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield method.upper(), path, operation


def test_every_operation_is_generated_with_its_success_responses_typed(
    document: dict[str, Any], generated: Path
) -> None:
    modules = {path.stem: path for path in (generated / "api").rglob("*.py")}
    missing, untyped = [], []
    for method, path, operation in operations(document):
        module = modules.get(snake(operation["operationId"]))
        if module is None:
            missing.append(f"{method} {path} ({operation['operationId']})")
            continue
        source = module.read_text()
        for status, response in operation["responses"].items():
            # A success with a JSON body must come back parsed into its model, not as bytes to decode by hand.
            is_json_success = status.startswith("2") and "application/json" in response.get("content", {})
            if is_json_success and f"response.status_code == {status}:" not in source:
                untyped.append(f"{method} {path} {status}")
    assert missing == []
    assert untyped == []


def test_a_generated_client_signs_up_and_appends_to_a_thread(
    generated: Path, make_settings: Callable[..., Settings], service_app: Callable[[Settings], Litestar]
) -> None:
    client_types = client_module("client")
    models = client_module("models")
    register = client_module("api.auth.register")
    create_org = client_module("api.orgs.create_org")
    create_agent = client_module("api.agents.create_agent")
    create_thread = client_module("api.conversations.create_thread")
    append = client_module("api.conversations.append_thread_messages")
    list_messages = client_module("api.conversations.list_thread_messages")

    with serving(service_app(make_settings())) as base_url:
        anonymous = client_types.Client(base_url=base_url, raise_on_unexpected_status=True)
        signed_in = register.sync(client=anonymous, body=models.Register(email="ada@example.com", password=PASSWORD))
        assert isinstance(signed_in, models.SignedIn)
        assert signed_in.user.email == "ada@example.com"

        ada = client_types.AuthenticatedClient(
            base_url=base_url, token=signed_in.token, raise_on_unexpected_status=True
        )
        org = create_org.sync(client=ada, body=models.OrgCreate(name="Acme", slug="acme"))
        assert isinstance(org, models.OrgWithRole)
        assert (org.slug, org.role) == ("acme", "owner")

        # X-Org-Id picks the org a request acts in (else the home org): a header on every call of this client.
        in_acme = ada.with_headers({"X-Org-Id": str(org.id)})
        agent = create_agent.sync(client=in_acme, body=models.AgentCreate(name="Support"))
        assert isinstance(agent, models.Agent)
        assert agent.org_id == org.id

        thread = create_thread.sync(client=in_acme, body=models.ThreadCreate(name="Refund", agent_id=agent.id))
        assert isinstance(thread, models.Thread)
        assert (thread.org_id, thread.agent_id) == (org.id, agent.id)

        # The parts are typed (the document shows the union they are checked against), not free-form objects.
        parts = models.TextPart | models.ReasoningPart | models.ToolCallPart | models.ToolResultPart | models.FilePart
        assert get_type_hints(models.MessageCreate, localns=vars(models))["parts"] == list[parts]
        turn = models.MessageCreate(
            role=models.MessageCreateRole.USER, parts=[models.TextPart(type_="text", text="Where is my refund?")]
        )
        appended = append.sync(thread.id, client=in_acme, body=models.MessagesAppend(messages=[turn]))
        assert isinstance(appended, models.MessageList)
        assert [message.text_content for message in appended.messages] == ["Where is my refund?"]

        page = list_messages.sync(thread.id, client=in_acme)
        assert isinstance(page, models.CursorPageMessage)
        [message] = page.items
        assert message.id == appended.messages[0].id
        [part] = message.parts
        assert isinstance(part, models.TextPart)
        assert part.text == "Where is my refund?"
