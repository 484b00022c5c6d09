"""Every setting the code reads is provisioned by infra/ and listed in local.settings.json.example."""

from __future__ import annotations

import json
import re

from core.settings import SETTINGS, load_settings

KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(SecretUri=\$\{[\w.]+\}\)$")


def _app_settings(infra) -> dict:
    return infra.tree("main.bicep")["variables"]["appSettings"]["value"]


def test_every_code_setting_is_provisioned(infra) -> None:
    """main.bicep's appSettings holds exactly the settings core.settings.SETTINGS declares."""
    assert set(_app_settings(infra)) == {s.name for s in SETTINGS}


def test_provisioned_settings_reach_the_function_app(infra) -> None:
    """The function app's appSettings are built from main's appSettings plus the host settings."""
    main_api = infra.body(infra.tree("main.bicep")["modules"]["api"])["params"]
    assert infra.mentions(main_api["appSettings"], "appSettings")
    api = infra.tree("app/api.bicep")
    assert infra.mentions(api["variables"]["allSettings"], "appSettings")
    site = infra.resource("Microsoft.Web/sites")
    assert site["properties"]["siteConfig"]["appSettings"]["loop_type"]["detail"]["array_name"] == {
        "function": {"type": "items", "parameters": {"arg_1": "allSettings"}}}


def test_every_code_setting_is_listed_in_local_settings_example(infra) -> None:
    """local.settings.json.example lists every setting core.settings.SETTINGS declares."""
    example = json.loads((infra.repo / "local.settings.json.example").read_text())["Values"]
    missing = {s.name for s in SETTINGS} - set(example)
    assert not missing


def test_secret_settings_are_key_vault_references_or_empty(infra) -> None:
    """Secret settings are never literals: Key Vault references, or empty where Entra ID replaces the key."""
    settings = _app_settings(infra)
    for setting in (s for s in SETTINGS if s.secret):
        value = settings[setting.name]
        if setting.name == "AZURE_OPENAI_API_KEY":
            assert value == "", "the OpenAI account has local auth off: no key to provision"
        else:
            assert isinstance(value, str), setting.name
            assert KEY_VAULT_REFERENCE.match(value), (setting.name, value)


def test_provisioned_defaults_match_the_code(infra) -> None:
    """A setting provisioned from a literal, a parameter default or a variable carries the code's default."""
    main = infra.tree("main.bicep")
    settings = _app_settings(infra)
    with_defaults = [s for s in SETTINGS if s.default is not None and not s.secret]
    for setting in with_defaults:
        value = settings[setting.name]
        if value in main["parameters"]:
            value = main["parameters"][value]["default"]
        elif value in main["variables"]:
            value = main["variables"][value]["value"]
        assert value == setting.default, setting.name
    assert len(with_defaults) >= 10


def test_provisioned_literals_pass_the_codes_validation(infra) -> None:
    """The literal values infra provisions load through core.settings without an error."""
    main = infra.tree("main.bicep")
    named = set(main["parameters"]) | set(main["variables"])
    literals = {k: v for k, v in _app_settings(infra).items()
                if isinstance(v, str) and "${" not in v and v not in named}
    assert {"RETENTION_DAYS", "POLL_MIN_SECONDS", "POLL_MAX_SECONDS", "TURN_TIMEOUT_SECONDS"} <= set(literals)
    env = {"AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
           **literals}
    loaded = load_settings(env)
    assert loaded.turn_timeout_seconds == float(literals["TURN_TIMEOUT_SECONDS"])


def test_queues_and_table_the_app_uses_are_created(infra) -> None:
    """The request, reply and rejected queues and the conversations table exist, named as the code says."""
    variables = infra.tree("main.bicep")["variables"]
    defaults = load_settings({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
                              "AZURE_OPENAI_DEPLOYMENT": "d"})
    assert variables["requestsQueue"]["value"] == defaults.requests_queue
    assert variables["repliesQueue"]["value"] == defaults.replies_queue
    queues = variables["queueNames"]["value"]
    assert queues[:2] == ["requestsQueue", "repliesQueue"]
    assert queues[2] == "${requestsQueue}-rejected"
    assert defaults.rejected_queue.endswith("-rejected")
    assert variables["tableNames"]["value"] == ["conversations"]
    storage = infra.body(infra.tree("main.bicep")["modules"]["storage"])["params"]
    assert (storage["queueNames"], storage["tableNames"]) == ("queueNames", "tableNames")
    st = infra.tree("app/storage.bicep")["resources"]
    assert st["queues"]["config"]["loop_type"]["detail"]["array_name"] == "queueNames"
    assert st["tables"]["config"]["loop_type"]["detail"]["array_name"] == "tableNames"


def test_host_settings_are_identity_based(infra) -> None:
    """Storage is reached by identity and service URIs; telemetry uses Entra ID; no Flex-banned settings."""
    host = infra.tree("app/api.bicep")["variables"]["hostSettings"]["value"]
    assert host["AzureWebJobsStorage__credential"] == "managedidentity"
    assert host["AzureWebJobsStorage__clientId"] == "identityClientId"
    for service in ("blob", "queue", "table"):
        assert infra.mentions(host[f"AzureWebJobsStorage__{service}ServiceUri"], f'"{service}"')
    assert infra.mentions(host["APPLICATIONINSIGHTS_CONNECTION_STRING"], "ConnectionString")
    entra = "ClientId=${identityClientId};Authorization=AAD"
    assert host["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == entra
    for path, tree in infra.trees.items():
        for banned in ("FUNCTIONS_EXTENSION_VERSION", "FUNCTIONS_WORKER_RUNTIME", '"AzureWebJobsStorage"'):
            assert not infra.mentions(tree, banned), f"{path.name} sets {banned}"


def test_durable_settings_match_host_json(infra) -> None:
    """TASKHUB_NAME and the scheduler connection (endpoint + identity, no secret) match host.json's names."""
    host = json.loads((infra.repo / "host.json").read_text())["extensions"]["durableTask"]
    variables = infra.tree("main.bicep")["variables"]
    assert host["hubName"] == "%TASKHUB_NAME%"
    assert infra.mentions(variables["durableSettings"], "TASKHUB_NAME")
    scheduler = variables["schedulerSettings"]
    connection = json.dumps(scheduler, default=str)
    assert host["storageProvider"]["connectionStringName"] in connection
    assert re.search(r"Endpoint=\$\{durableTask\.outputs\.endpoint\};Authentication=ManagedIdentity;"
                     r"ClientID=\$\{identity\.outputs\.clientId\}", connection)


def test_azure_storage_backend_switch_drops_the_scheduler(infra) -> None:
    """With durableBackend=azureStorage no scheduler is deployed and its connection setting is not set."""
    main = infra.tree("main.bicep")
    assert main["parameters"]["durableBackend"]["default"] == "durableTaskScheduler"
    assert infra.mentions(main["modules"]["durableTask"]["config"]["condition"], "durableBackend")
    assert infra.mentions(main["variables"]["schedulerSettings"], "durableBackend")
