"""Azurite helpers: the development-storage shorthand and the launcher."""

from __future__ import annotations

from devhost.azurite import DEFAULT_PORTS, DEV_ACCOUNT, expand_connection, is_listening


def test_use_development_storage_means_azurite_default_ports() -> None:
    """UseDevelopmentStorage=true expands to Azurite's well-known account on ports 10000-10002."""
    expanded = expand_connection("UseDevelopmentStorage=true")
    assert f"AccountName={DEV_ACCOUNT}" in expanded
    assert f"QueueEndpoint=http://127.0.0.1:{DEFAULT_PORTS['queue']}/{DEV_ACCOUNT}" in expanded
    assert (
        expand_connection("DefaultEndpointsProtocol=https;AccountName=x")
        == "DefaultEndpointsProtocol=https;AccountName=x"
    )


def test_session_azurite_serves_its_queue_port(azurite: str) -> None:
    """The `azurite` fixture's connection string points at a listening queue service."""
    port = int(azurite.split("QueueEndpoint=http://127.0.0.1:")[1].split("/")[0])
    assert is_listening(port)
