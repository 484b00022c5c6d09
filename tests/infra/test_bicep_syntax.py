"""Every .bicep under infra/ parses; a syntax error anywhere fails; `bicep build` runs where it exists."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def test_every_bicep_file_parses(infra) -> None:
    """main.bicep and each module under infra/app parse, and main.bicep deploys at subscription scope."""
    names = {p.relative_to(infra.root).as_posix() for p in infra.trees}
    assert "main.bicep" in names
    assert {"app/api.bicep", "app/storage.bicep", "app/rbac.bicep", "app/email-logicapp.bicep"} <= names
    assert infra.tree("main.bicep")["globals"]["scope"]["value"] == "subscription"


def test_local_modules_called_exist(infra) -> None:
    """Each local module a file calls is a .bicep file the suite parsed."""
    for path, name, entry in infra.modules():
        if entry["type"] == "local":
            target = (path.parent / entry["detail"]["path"]).resolve()
            assert target in infra.trees, f"{path.name}: module {name} -> missing {target}"


def test_a_syntax_error_anywhere_fails_the_parse(parse_dir, tmp_path: Path) -> None:
    """A broken file in a nested folder makes the parser the suite uses raise, naming that file."""
    (tmp_path / "app").mkdir()
    (tmp_path / "main.bicep").write_text("param location string\n")
    (tmp_path / "app" / "broken.bicep").write_text(
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n  properties: {\n")
    with pytest.raises(Exception, match=r"app/broken\.bicep") as raised:
        parse_dir(tmp_path)
    assert raised.type.__name__ == "BicepSyntaxError"


def test_bicep_build_when_the_cli_is_installed(infra, tmp_path: Path) -> None:
    """`bicep build infra/main.bicep` succeeds (linter errors included) on machines that have the CLI."""
    bicep = shutil.which("bicep")
    if bicep is None:
        pytest.skip("bicep CLI not on PATH (it downloads its own binary, which this machine cannot): "
                    "syntax is checked by pycep-parser and policy by checkov instead")
    result = subprocess.run([bicep, "build", str(infra.root / "main.bicep"), "--outdir", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "main.json").exists()
