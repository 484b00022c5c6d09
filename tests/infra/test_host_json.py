"""host.json runs Durable Functions on the Durable Task Scheduler and keeps the queue settings."""

from __future__ import annotations

import json
import re


def test_durable_backend_is_the_scheduler(infra) -> None:
    """Provider azureManaged reads DURABLE_TASK_SCHEDULER_CONNECTION_STRING; the hub is %TASKHUB_NAME%."""
    durable = json.loads((infra.repo / "host.json").read_text())["extensions"]["durableTask"]
    assert durable["hubName"] == "%TASKHUB_NAME%"
    assert durable["storageProvider"] == {"type": "azureManaged",
                                          "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"}


def test_bundle_supports_the_scheduler_and_queue_settings_stay(infra) -> None:
    """The v4 bundle range starts at 4.32.0 (first with azureManaged for Python); queue settings stay."""
    host = json.loads((infra.repo / "host.json").read_text())
    bundle = host["extensionBundle"]
    assert bundle["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    low = re.fullmatch(r"\[(\d+)\.(\d+)\.(\d+), 5\.0\.0\)", bundle["version"])
    assert low
    assert (int(low[1]), int(low[2])) >= (4, 32)
    assert host["extensions"]["queues"]["maxDequeueCount"] >= 1
