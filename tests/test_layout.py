"""The tree shows the architecture: every module sits in a package the README's layout names, and no module name
outside the per-domain api/models/repositories trio is used twice."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "agentpress"
# One module per domain in each: the same name across the three is the point.
PER_DOMAIN = {"api", "models", "repositories"}
# The README's layout block lists src/agentpress/'s entries two spaces in: `  db/   ...` or `  settings.py   ...`.
_ENTRY = re.compile(r"^  (?P<name>[a-z_]+(?:/|\.py))\s", re.MULTILINE)


def layout_entries(readme: str) -> set[str]:
    """The packages (`db/`) and top-level modules (`settings.py`) the README's layout names under src/agentpress/."""
    layout = readme.split("## Layout", 1)[1].split("```")[1]
    block = layout.split("src/agentpress/\n", 1)[1]
    # The block ends at the next top-level entry (no indent).
    listed = re.split(r"^\S", block, maxsplit=1, flags=re.MULTILINE)[0]
    return {match.group("name") for match in _ENTRY.finditer(listed)}


def modules() -> list[Path]:
    return sorted(path.relative_to(PACKAGE) for path in PACKAGE.rglob("*.py"))


def unlisted(entries: set[str], paths: list[Path]) -> list[str]:
    """Modules that are neither in a listed package nor listed themselves (the package's own __init__ aside)."""
    return [
        str(path)
        for path in paths
        if str(path) != "__init__.py" and not ({f"{path.parts[0]}/", path.parts[0]} & entries)
    ]


def repeated_names(paths: list[Path]) -> dict[str, list[str]]:
    """Module names used more than once, or used outside the trio and inside it too."""
    places: defaultdict[str, list[str]] = defaultdict(list)
    trio: set[str] = set()
    for path in paths:
        if path.stem in {"__init__", "__main__"}:
            continue
        if path.parts[0] in PER_DOMAIN:
            trio.add(path.stem)
        else:
            places[path.stem].append(str(path))
    return {name: where for name, where in places.items() if len(where) > 1 or name in trio}


def test_every_module_is_in_a_package_the_readme_names() -> None:
    entries = layout_entries((REPO / "README.md").read_text())
    assert {"db/", "web/", "services/", "cli/", "api/", "models/", "repositories/"} <= entries
    assert unlisted(entries, modules()) == []
    assert [entry for entry in entries if not (PACKAGE / entry).exists()] == []


def test_no_module_name_is_used_twice_outside_the_per_domain_packages() -> None:
    assert repeated_names(modules()) == {}


def test_the_checks_catch_a_stray_module_and_a_repeated_name() -> None:
    readme = "## Layout\n```\nsrc/agentpress/\n  db/   the SQL\n  settings.py   settings\ntests/  x\n  api/  y\n```\n"
    entries = layout_entries(readme)
    assert entries == {"db/", "settings.py"}
    paths = [Path("__init__.py"), Path("settings.py"), Path("db/queries.py"), Path("stray.py"), Path("web/app.py")]
    assert unlisted(entries, paths) == ["stray.py", "web/app.py"]
    paths = [Path("db/schema.py"), Path("web/schema.py"), Path("services/orgs.py"), Path("api/orgs.py")]
    assert repeated_names(paths) == {"schema": ["db/schema.py", "web/schema.py"], "orgs": ["services/orgs.py"]}
