"""The app's identity (and the developer) get every data-plane role the app needs, in one loop."""

from __future__ import annotations

# Built-in role definition ids (Azure RBAC built-in roles).
REQUIRED_ROLES = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Durable Task Data Contributor": "0ad04412-c4d5-4796-b79c-f76d14c8d402",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}


def _rbac_calls(infra) -> dict[str, dict]:
    main = infra.tree("main.bicep")
    return {name: entry for name, entry in main["modules"].items()
            if entry["type"] == "local" and entry["detail"]["path"] == "app/rbac.bicep"}


def test_every_required_role_is_in_the_granted_list(infra) -> None:
    """main.bicep's role table holds each role the app needs, by its built-in id."""
    roles = infra.tree("main.bicep")["variables"]["dataPlaneRoles"]["value"]
    assert {r["name"]: r["id"] for r in roles} == REQUIRED_ROLES


def test_the_identity_gets_the_roles_and_the_developer_the_same_when_named(infra) -> None:
    """One rbac call grants the table to the identity; another, if principalId is set, to the developer."""
    calls = {name: (entry["config"], infra.body(entry)["params"])
             for name, entry in _rbac_calls(infra).items()}
    assert len(calls) == 2
    by_type = {params["principalType"]: (config, params) for config, params in calls.values()}
    config, params = by_type["ServicePrincipal"]
    assert "condition" not in config
    assert infra.mentions(params["principalId"], "identity")
    assert infra.mentions(params["principalId"], "principalId")
    assert params["roles"] == "dataPlaneRoles"
    dev_config, dev_params = by_type["principalType"]
    assert infra.mentions(dev_config["condition"], "principalId")
    assert dev_params["principalId"] == "principalId"
    assert dev_params["roles"] == "dataPlaneRoles"


def test_role_assignments_are_one_loop(infra) -> None:
    """rbac.bicep declares a single roleAssignments resource that loops over the roles it is given."""
    resources = infra.tree("app/rbac.bicep")["resources"]
    assert len(resources) == 1
    (entry,) = resources.values()
    assert entry["type"] == "Microsoft.Authorization/roleAssignments"
    assert entry["config"]["loop_type"]["detail"]["array_name"] == "roles"
    properties = infra.body(entry)["properties"]
    assert properties["principalId"] == "principalId"
    assert infra.mentions(properties["roleDefinitionId"], "role")
    total = sum(1 for tree in infra.trees.values() for e in tree.get("resources", {}).values()
                if e["type"] == "Microsoft.Authorization/roleAssignments")
    assert total == 1, "role assignments must come from the one loop, not copied blocks"
