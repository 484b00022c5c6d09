"""Which settings the demo's devhost runs with."""

from __future__ import annotations

import json
from pathlib import Path

from demo.stack import ROOT, devhost_environment


def test_the_example_settings_apply_and_the_environment_wins(tmp_path: Path) -> None:
    """Without local.settings.json the example's values apply; a variable in the environment overrides one."""
    text = (ROOT / "local.settings.json.example").read_text()
    (tmp_path / "local.settings.json.example").write_text(text)
    example = json.loads(text)["Values"]
    env = devhost_environment(tmp_path, {"ASSISTANTS_BACKEND": "assistants", "PATH": "/bin"})
    assert env["ASSISTANTS_BACKEND"] == "assistants"
    assert env["POLL_MIN_SECONDS"] == example["POLL_MIN_SECONDS"]
    assert env["EMAIL_ALLOWED_RECIPIENTS"] == "@example.com"
    assert env["PATH"] == "/bin"


def test_a_local_settings_file_is_left_to_devhost(tmp_path: Path) -> None:
    """With a local.settings.json devhost reads that file itself: the example adds nothing."""
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"POLL_MIN_SECONDS": "2"}}))
    assert devhost_environment(tmp_path, {"PATH": "/bin"}) == {"PATH": "/bin"}
