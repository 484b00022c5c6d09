"""Structural security checks on the parsed Bicep: keyless, TLS 1.2, HTTPS only, pinned modules, no leaks."""

from __future__ import annotations

import json
import re

SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def test_storage_takes_no_shared_key(infra) -> None:
    """The storage account disables shared keys, local users and public blobs, and nothing lists its keys."""
    account = infra.resource("Microsoft.Storage/storageAccounts")["properties"]
    assert account["allowSharedKeyAccess"] is False
    assert account["allowBlobPublicAccess"] is False
    assert account["isLocalUserEnabled"] is False
    assert account["defaultToOAuthAuthentication"] is True
    for path, tree in infra.trees.items():
        assert not infra.mentions(tree, "listKeys"), f"{path.name} reads storage keys"
        assert "AccountKey=" not in path.read_text(), f"{path.name} holds a key-based connection string"


def test_tls_and_https_everywhere(infra) -> None:
    """Storage and the function app demand TLS 1.2 and HTTPS; FTPS and basic publishing are off."""
    account = infra.resource("Microsoft.Storage/storageAccounts")["properties"]
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["supportsHttpsTrafficOnly"] is True
    site = infra.resource("Microsoft.Web/sites")["properties"]
    assert site["httpsOnly"] is True
    assert site["siteConfig"]["minTlsVersion"] == "1.2"
    assert site["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert site["siteConfig"]["ftpsState"] == "Disabled"
    policies = infra.resource("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert policies["properties"]["allow"] is False
    loop = next(e for e in infra.tree("app/api.bicep")["resources"].values()
                if e["type"] == "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert set(loop["config"]["loop_type"]["detail"]["array_name"]) == {"ftp", "scm"}


def test_openai_and_application_insights_allow_entra_id_only(infra) -> None:
    """Azure OpenAI has local auth off and a custom subdomain; Application Insights has local auth off."""
    openai = infra.resource("Microsoft.CognitiveServices/accounts")
    assert openai["kind"] == "OpenAI"
    assert openai["properties"]["disableLocalAuth"] is True
    assert openai["properties"]["customSubDomainName"] == "name"
    component = infra.registry_module("avm/res/insights/component")["params"]
    assert component["disableLocalAuth"] is True


def test_function_app_is_flex_consumption_python_311_with_identity(infra) -> None:
    """FC1 plan, Python 3.11 in functionAppConfig, identity-authenticated deployment container, azd tag."""
    plan = infra.registry_module("avm/res/web/serverfarm")["params"]
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["reserved"] is True
    site = infra.resource("Microsoft.Web/sites")
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {"type": "UserAssignedIdentity",
                                         "userAssignedIdentityResourceId": "identityId"}
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    assert site["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "api"}


def test_key_vault_is_rbac_only_with_purge_protection(infra) -> None:
    """The vault uses RBAC, soft delete and purge protection."""
    vault = infra.resource("Microsoft.KeyVault/vaults")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enableSoftDelete"] is True
    assert vault["enablePurgeProtection"] is True


def test_registry_modules_are_avm_pinned_to_exact_versions(infra) -> None:
    """Every registry module is an AVM resource module pinned to x.y.z (no floating tags)."""
    registry = [(p.name, e["detail"]) for p, _, e in infra.modules() if e["type"] != "local"]
    assert registry, "expected AVM modules"
    for file, detail in registry:
        assert detail["public"] is True, (file, detail["full"])
        assert detail["path"].startswith("avm/res/"), (file, detail["full"])
        assert SEMVER.match(detail["tag"]), f"{file}: {detail['full']} is not pinned to x.y.z"


def test_no_output_carries_a_secret(infra) -> None:
    """No output is @secure, calls a list*() function, reads a @secure parameter or is a connection string."""
    for path, name, entry in infra.outputs():
        where = f"{path.relative_to(infra.root)}: output {name}"
        assert not any(d["type"] == "secure" for d in entry["decorators"]), where
        assert not re.search(r"secret|password|_key$|connection_?string", name, re.I), where
        value = json.dumps(entry["value"], default=str)
        assert not re.search(r'"type": "list|"func_name": "list|listKeys|listCallbackUrl', value), where
        secure_params = {p for p, spec in infra.trees[path].get("parameters", {}).items()
                         if any(d["type"] == "secure" for d in spec["decorators"])}
        for param in secure_params:
            assert not re.search(rf"\b{param}\b", value), f"{where} exposes @secure param {param}"


def test_logic_app_callback_url_goes_only_to_key_vault(infra) -> None:
    """listCallbackUrl() appears once, as the value of a Key Vault secret; EMAIL_URI is a reference to it."""
    uses = []
    for path, tree in infra.trees.items():
        for section in ("variables", "outputs", "modules"):
            assert not infra.mentions(tree.get(section, {}), "listCallbackUrl"), f"{path.name}: {section}"
        for entry in tree.get("resources", {}).values():
            if infra.mentions(entry, "listCallbackUrl"):
                uses.append(entry)
    assert len(uses) == 1
    (secret,) = uses
    assert secret["type"] == "Microsoft.KeyVault/vaults/secrets"
    assert infra.mentions(infra.body(secret)["properties"]["value"], "listCallbackUrl")
    settings = infra.tree("main.bicep")["variables"]["appSettings"]["value"]
    assert settings["EMAIL_URI"].startswith("@Microsoft.KeyVault(SecretUri=${emailLogicApp.outputs.")
