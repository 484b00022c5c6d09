"""azd wiring: azure.yaml, the parameters file, and the postprovision hook that prints the manual steps."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml

REQUIRED_ENV = {"AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_PRINCIPAL_ID"}


def test_azure_yaml_deploys_this_folder_as_the_function_app(infra) -> None:
    """Service `api` is this folder, Python, on Functions; postprovision hooks exist for both shells."""
    spec = yaml.safe_load((infra.repo / "azure.yaml").read_text())
    assert spec["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    hook = spec["hooks"]["postprovision"]
    assert (infra.repo / hook["posix"]["run"]).resolve() == infra.root / "hooks" / "postprovision.sh"
    assert (infra.repo / hook["windows"]["run"]).resolve() == infra.root / "hooks" / "postprovision.ps1"
    assert os.access(infra.root / "hooks" / "postprovision.sh", os.X_OK)


def test_parameters_file_feeds_main_from_the_azd_environment(infra) -> None:
    """Each parameter in main.parameters.json exists in main.bicep; required ones come from azd's env."""
    values = json.loads((infra.root / "main.parameters.json").read_text())["parameters"]
    params = infra.tree("main.bicep")["parameters"]
    assert set(values) <= set(params)
    assert {name for name, spec in params.items() if "default" not in spec} <= set(values)
    used = {m for v in values.values() for m in re.findall(r"\$\{(\w+)", json.dumps(v))}
    assert used >= REQUIRED_ENV
    for name in ("openAiModelName", "openAiModelVersion", "openAiDeploymentSku", "openAiDeploymentCapacity",
                 "assistantsBackend", "emailAllowedRecipients", "durableBackend", "vnetEnabled"):
        assert name in values, name
    assert values["webhookSecret"]["value"].startswith("$(secretOrRandomPassword ${AZURE_KEY_VAULT_NAME} ")


def test_main_outputs_what_azd_and_the_hook_need(infra) -> None:
    """main.bicep outputs the endpoint, deployment, app name, resource group and the hook's inputs."""
    outputs = set(infra.tree("main.bicep")["outputs"])
    needed = {"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT", "AZURE_FUNCTION_APP_NAME",
              "AZURE_RESOURCE_GROUP",
              "AZURE_KEY_VAULT_NAME", "EMAIL_CONNECTION_NAME", "SERVICE_API_URI"}
    assert needed <= outputs
    assert "AZURE_CLIENT_ID" not in outputs, "exported locally it would force a managed identity credential"


def test_postprovision_hook_prints_the_manual_steps_and_no_secret(infra, tmp_path: Path) -> None:
    """The hook links the connection's consent page and prints key commands without fetching any key."""
    calls = tmp_path / "az-calls"
    fake_az = tmp_path / "az"
    fake_az.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho Error\n')
    fake_az.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "AZURE_RESOURCE_GROUP": "rg-demo",
           "AZURE_FUNCTION_APP_NAME": "func-api-abc", "EMAIL_CONNECTION_NAME": "con-office365-abc",
           "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000", "AZURE_TENANT_ID": "tenant-1",
           "SERVICE_API_URI": "https://func-api-abc.azurewebsites.net"}
    result = subprocess.run(["sh", str(infra.root / "hooks" / "postprovision.sh")], env=env,
                            capture_output=True, text=True, timeout=30, check=True)
    out = result.stdout
    assert ("https://portal.azure.com/#@tenant-1/resource/subscriptions/00000000-0000-0000-0000-000000000000"
            "/resourceGroups/rg-demo/providers/Microsoft.Web/connections/con-office365-abc/edit") in out
    assert "(status now: Error)" in out
    assert "az functionapp keys list -g rg-demo -n func-api-abc" in out
    assert 'curl -sS -X POST "https://func-api-abc.azurewebsites.net/api/conversations"' in out
    assert 'x-functions-key: $key' in out
    made = calls.read_text()
    assert "resource show" in made
    assert "keys" not in made, "the hook must not fetch keys"


def test_postprovision_hook_names_a_missing_azd_value(infra, tmp_path: Path) -> None:
    """Run outside azd, the hook fails with one line naming the missing value."""
    result = subprocess.run(["sh", str(infra.root / "hooks" / "postprovision.sh")],
                            env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode != 0
    assert "AZURE_RESOURCE_GROUP is not set" in result.stderr
