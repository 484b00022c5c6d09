"""Start-up configuration: local.settings.json values, %SETTING% expressions, host.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.config import ConfigError, load_host_config, load_local_settings, resolve_expressions


def test_local_settings_fill_but_never_override_the_environment(tmp_path: Path) -> None:
    """Values from local.settings.json are added; variables already set keep their value."""
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"A": "file", "B": "file"}}))
    env = {"A": "env"}
    assert load_local_settings(tmp_path, env) == ["B"]
    assert env == {"A": "env", "B": "file"}


def test_malformed_local_settings_is_named(tmp_path: Path) -> None:
    """A broken local.settings.json is a start-up error naming the file."""
    (tmp_path / "local.settings.json").write_text("{oops")
    with pytest.raises(ConfigError, match=r"local\.settings\.json"):
        load_local_settings(tmp_path, {})


def test_setting_expressions_resolve_or_fail_naming_the_setting() -> None:
    """%NAME% is replaced from the environment; a missing one names the setting."""
    assert resolve_expressions("q-%X%-%Y%", "here", {"X": "1", "Y": "2"}) == "q-1-2"
    with pytest.raises(ConfigError, match="app setting MISSING"):
        resolve_expressions("%MISSING%", "function 'f'", {})


def test_host_json_queue_and_route_settings(tmp_path: Path) -> None:
    """host.json routePrefix, hubName (%SETTING%), maxDequeueCount and visibilityTimeout are read."""
    (tmp_path / "host.json").write_text(
        json.dumps(
            {
                "extensions": {
                    "http": {"routePrefix": ""},
                    "durableTask": {"hubName": "%HUB%"},
                    "queues": {"maxDequeueCount": 3, "visibilityTimeout": "00:00:30"},
                }
            }
        )
    )
    config = load_host_config(tmp_path, {"HUB": "MyHub"})
    assert (config.route_prefix, config.hub_name, config.max_dequeue_count) == ("", "MyHub", 3)
    assert config.visibility_timeout_s == 30


def test_host_json_defaults_match_the_host(tmp_path: Path) -> None:
    """Without host.json: route prefix api, maxDequeueCount 5."""
    config = load_host_config(tmp_path, {})
    assert (config.route_prefix, config.max_dequeue_count) == ("api", 5)


def test_repo_host_json_needs_the_task_hub_setting() -> None:
    """The project's host.json takes its hub name from TASKHUB_NAME; unset, start-up says so."""
    root = Path(__file__).resolve().parents[2]
    with pytest.raises(ConfigError, match="TASKHUB_NAME"):
        load_host_config(root, {})
    assert load_host_config(root, {"TASKHUB_NAME": "Hub1"}).hub_name == "Hub1"
