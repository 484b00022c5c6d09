"""Loading an app as the worker indexes it: once per process, with the worker's load-time checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devhost.loader import LoadError, load_app
from tests.devhost.conftest import APPS


def test_loading_twice_reuses_the_module_and_its_functions() -> None:
    """A second load of the same module reuses the imported module and the same function objects."""
    first = load_app("durable_app", APPS)
    second = load_app("durable_app", APPS)
    assert first.app is second.app is sys.modules["durable_app"].app
    assert first.functions["fan_out"].func is second.functions["fan_out"].func


def test_functions_are_described_with_their_bindings() -> None:
    """Trigger types, routes, methods, auth levels and durable names come from the app's metadata."""
    loaded = load_app("durable_app", APPS)
    item = loaded.functions["get_item"]
    assert (item.trigger_type, item.auth_level, item.methods) == (
        "httpTrigger",
        "ANONYMOUS",
        frozenset({"GET"}),
    )
    assert loaded.functions["secure"].auth_level == "FUNCTION"
    assert loaded.activity("DOUBLE") is loaded.functions["double"]
    assert loaded.orchestrator("fan_out") is loaded.functions["fan_out"]
    assert [b.type for b in loaded.functions["http_start"].bindings if b.direction == "IN"] == [
        "durableClient"
    ]


def test_annotation_the_worker_rejects_is_a_load_error(tmp_path: Path) -> None:
    """A queue trigger typed `str` fails at load time naming the function, as the Python worker refuses it."""
    (tmp_path / "bad_queue_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp()\n"
        "@app.queue_trigger(arg_name='msg', queue_name='q-bad', connection='X')\n"
        "def handler(msg: str) -> None:\n"
        "    pass\n"
    )
    with pytest.raises(LoadError, match="function 'handler': type of 'msg'"):
        load_app("bad_queue_app", tmp_path)


def test_module_that_fails_to_import_is_a_load_error(tmp_path: Path) -> None:
    """An exception while importing the app is reported with the module name."""
    (tmp_path / "broken_app.py").write_text("raise RuntimeError('setting X missing')\n")
    with pytest.raises(LoadError, match="importing app module 'broken_app' failed: RuntimeError: setting X"):
        load_app("broken_app", tmp_path)
