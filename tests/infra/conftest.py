"""Fixtures for the offline infra checks: parsed Bicep trees, and one checkov run per session."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
CHECKOV = REPO / ".venv-tools" / "bin" / "checkov"


class BicepSyntaxError(Exception):
    """A .bicep file does not parse; the message names the file."""


def parse_bicep_dir(root: Path) -> dict[Path, dict[str, Any]]:
    """Parse every .bicep under root; raise BicepSyntaxError naming the first file that does not parse."""
    from lark.exceptions import LarkError
    from pycep import BicepParser

    parser = BicepParser()
    trees: dict[Path, dict[str, Any]] = {}
    for path in sorted(root.rglob("*.bicep")):
        try:
            trees[path] = dict(parser.parse(file_path=path))
        except LarkError as exc:
            raise BicepSyntaxError(f"{path.relative_to(root)}: {exc}") from None
    return trees


def body(entry: dict[str, Any]) -> dict[str, Any]:
    """The declared body of a resource or module, through `if (...)` and `for ...` wrappers."""
    config: dict[str, Any] = entry["config"]
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def mentions(node: object, needle: str) -> bool:
    """Whether a parsed expression (any nesting of dicts, lists, strings) mentions needle."""
    return needle in json.dumps(node, default=str)


@dataclass(frozen=True)
class Infra:
    """The parsed infra/ folder, with lookups by file, resource type and module source."""

    trees: dict[Path, dict[str, Any]]
    repo: Path = REPO
    root: Path = INFRA
    body = staticmethod(body)
    mentions = staticmethod(mentions)

    def tree(self, relative: str) -> dict[str, Any]:
        """The tree of infra/<relative>."""
        return self.trees[INFRA / relative]

    def resources(self, type_: str) -> list[dict[str, Any]]:
        """Bodies of every declared (not `existing`) resource of one type, across all files."""
        found = []
        for tree in self.trees.values():
            for entry in tree.get("resources", {}).values():
                if entry["type"] == type_ and not entry.get("existing"):
                    found.append(body(entry))
        return found

    def resource(self, type_: str) -> dict[str, Any]:
        """The body of the one declared resource of a type."""
        found = self.resources(type_)
        assert len(found) == 1, f"expected one {type_}, found {len(found)}"
        return found[0]

    def modules(self) -> Iterator[tuple[Path, str, dict[str, Any]]]:
        """(file, symbolic name, module entry) of every module call."""
        for path, tree in self.trees.items():
            for name, entry in tree.get("modules", {}).items():
                yield path, name, entry

    def registry_module(self, path: str) -> dict[str, Any]:
        """The body of the one call of registry module `path` (e.g. avm/res/insights/component)."""
        found = [body(e) for _, _, e in self.modules() if e["detail"].get("path") == path]
        assert len(found) == 1, f"expected one call of {path}, found {len(found)}"
        return found[0]

    def outputs(self) -> Iterator[tuple[Path, str, dict[str, Any]]]:
        """(file, name, output entry) of every output of every file."""
        for path, tree in self.trees.items():
            for name, entry in tree.get("outputs", {}).items():
                yield path, name, entry


@pytest.fixture(scope="session")
def infra() -> Infra:
    """Every .bicep under infra/, parsed once."""
    return Infra(parse_bicep_dir(INFRA))


@pytest.fixture(scope="session")
def parse_dir() -> Callable[[Path], dict[Path, dict[str, Any]]]:
    """The parser the suite runs over infra/, to feed it other folders."""
    return parse_bicep_dir


def run_checkov(directory: Path) -> list[dict[str, Any]]:
    """checkov's JSON reports (Bicep policies and the secrets scan) over a folder; never goes online."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV.relative_to(REPO)} is missing: run `make tools` (make test does it)")
    # --skip-download: no Prisma Cloud look-ups; the machine has no network and needs none.
    command = [str(CHECKOV), "--directory", str(directory), "--framework", "bicep", "secrets",
               "--skip-download", "--output", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False, cwd=REPO)
    assert result.stdout.strip(), f"checkov printed no report: {result.stderr[-2000:]}"
    reports = json.loads(result.stdout)
    # One framework with findings gives an object, several a list; a framework with nothing to say is absent.
    return reports if isinstance(reports, list) else [reports]


@pytest.fixture(scope="session")
def checkov() -> Callable[[Path], list[dict[str, Any]]]:
    """Run checkov over any folder (slow: seconds per run)."""
    return run_checkov


@pytest.fixture(scope="session")
def checkov_reports() -> dict[str, dict[str, Any]]:
    """checkov's reports over infra/, by framework, run once per session."""
    return {report["check_type"]: report for report in run_checkov(INFRA)}
