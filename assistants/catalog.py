"""Assistants as configuration: one TOML file each in this folder, with its files under data/."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from core.errors import InvalidRequest
from core.names import HTTP_TOOL, tool_activity
from tools import REGISTRY
from tools.declarative import HttpToolSpec
from tools.registry import Tool

HERE = Path(__file__).resolve().parent
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
BUILTIN_TOOLS = ("code_interpreter", "file_search")


class UnknownAssistant(InvalidRequest):
    """The request names an assistant that has no file here."""


@dataclass(frozen=True)
class AssistantSpec:
    """One assistant: instructions, tools, and the files it works with."""

    name: str
    display_name: str
    instructions: str
    run_instructions: str = ""
    code_interpreter: bool = False
    file_search: bool = False
    functions: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()
    knowledge: tuple[Path, ...] = ()
    http_tools: tuple[HttpToolSpec, ...] = ()
    source: Path | None = field(default=None, compare=False)

    def function_tools(self) -> list[Tool]:
        """The function tools the model is offered, registry tools first, then HTTP tools."""
        tools = [REGISTRY.get(name) for name in self.functions]
        return [t for t in tools if t is not None] + [h.tool() for h in self.http_tools]

    def tool(self, name: str) -> Tool | None:
        """A function tool of this assistant by name."""
        return next((t for t in self.function_tools() if t.name == name), None)

    def tool_activities(self) -> dict[str, str]:
        """Function tool name → the activity that runs it."""
        return {**{n: tool_activity(n) for n in self.functions}, **{h.name: HTTP_TOOL for h in self.http_tools}}

    def definition_hash(self) -> str:
        """Hash of what the model service holds for this assistant (not its files)."""
        definition = {
            "name": self.name, "display_name": self.display_name, "instructions": self.instructions,
            "code_interpreter": self.code_interpreter, "file_search": self.file_search,
            "tools": [t.schema() for t in self.function_tools()],
        }
        return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:32]


def file_hash(path: Path) -> str:
    """Content hash of a data file (how a re-sync knows a file is unchanged)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:32]


def _paths(root: Path, values: Any, key: str, source: Path) -> tuple[Path, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{source.name}: {key} must be a list of paths")
    paths = tuple((root / v).resolve() for v in values)
    for p in paths:
        if not p.is_file() or root.resolve() not in p.parents:
            raise ValueError(f"{source.name}: {key} entry {p.name} is not a file under {root.name}/")
    return paths


def parse_assistant(source: Path) -> AssistantSpec:
    """Read and check one assistant file; ValueError names the file and the problem."""
    import tomllib  # read when an assistant is first loaded, not at the app's import

    data = tomllib.loads(source.read_text(encoding="utf-8"))
    name = data.get("name", source.stem)
    if not isinstance(name, str) or not NAME.match(name) or name != source.stem:
        raise ValueError(f"{source.name}: name must match the file name and {NAME.pattern}")
    tools = data.get("tools", [])
    unknown = [t for t in tools if t not in BUILTIN_TOOLS and t not in REGISTRY]
    if unknown:
        raise ValueError(f"{source.name}: unknown tools {unknown}; known: {[*BUILTIN_TOOLS, *REGISTRY.names()]}")
    root = source.parent
    http_tools = tuple(HttpToolSpec(**spec) for spec in data.get("http_tools", []))
    return AssistantSpec(
        name=name,
        display_name=str(data.get("display_name", name)),
        instructions=str(data.get("instructions", "")).strip(),
        run_instructions=str(data.get("run_instructions", "")).strip(),
        code_interpreter="code_interpreter" in tools,
        file_search="file_search" in tools or bool(data.get("knowledge")),
        functions=tuple(t for t in tools if t not in BUILTIN_TOOLS),
        files=_paths(root, data.get("files", []), "files", source),
        knowledge=_paths(root, data.get("knowledge", []), "knowledge", source),
        http_tools=http_tools,
        source=source,
    )


@cache
def _load(path: Path, mtime_ns: int) -> AssistantSpec:
    return parse_assistant(path)


def load_assistant(name: str, root: Path = HERE) -> AssistantSpec:
    """The assistant called `name`; UnknownAssistant (a 400) if there is none."""
    if not isinstance(name, str) or not NAME.match(name):
        raise UnknownAssistant(f"assistant name {name!r} is malformed", field="assistant")
    path = root / f"{name}.toml"
    if not path.is_file():
        raise UnknownAssistant(f"unknown assistant {name!r}; known: {', '.join(assistant_names(root))}",
                               field="assistant")
    return _load(path, path.stat().st_mtime_ns)


def assistant_names(root: Path = HERE) -> list[str]:
    """Every assistant defined in `root`."""
    return sorted(p.stem for p in root.glob("*.toml"))
