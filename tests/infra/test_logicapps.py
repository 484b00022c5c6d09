"""The sample Logic App workflows are valid definitions that call our routes and queues as DESIGN says."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from core.settings import load_settings

WDL_SCHEMA = ("https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/"
              "workflowdefinition.json#")
SAMPLES = ("conversation-http.json", "conversation-queue.json")
# Shapes of credentials that must never sit in a definition: a SAS signature, a ?code= key,
# a storage key, a bearer token, or a long base64/hex blob.
INLINE_SECRET = re.compile(r"sig=|[?&]code=|AccountKey|SharedAccessSignature|Bearer |[A-Za-z0-9+/]{40,}")


def _load(infra, name: str) -> dict[str, Any]:
    return json.loads((infra.root / "logicapps" / name).read_text())


def _actions(actions: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every action, including those nested in scopes, conditions and loops."""
    for name, action in actions.items():
        yield name, action
        yield from _actions(action.get("actions", {}))
        yield from _actions(action.get("else", {}).get("actions", {}))


def _defaults() -> Any:
    return load_settings({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com",
                          "AZURE_OPENAI_DEPLOYMENT": "d"})


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_is_a_workflow_definition(infra, name: str) -> None:
    """Each sample is JSON with the workflow definition language's schema and required sections."""
    definition = _load(infra, name)
    assert definition["$schema"] == WDL_SCHEMA
    assert definition["contentVersion"] == "1.0.0.0"
    assert definition["triggers"]
    assert definition["actions"]
    for action_name, action in _actions(definition["actions"]):
        assert isinstance(action.get("type"), str), action_name
        for after in action.get("runAfter", {}):
            assert after in dict(_actions(definition["actions"])), f"{action_name} runs after unknown {after}"


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_holds_no_secret_inline(infra, name: str) -> None:
    """No key, signature or token is written into a sample; secrets come from secure parameters."""
    text = (infra.root / "logicapps" / name).read_text()
    assert not INLINE_SECRET.search(text)
    for param, spec in _load(infra, name)["parameters"].items():
        if spec["type"] == "SecureString":
            assert "defaultValue" not in spec, param


def test_http_sample_posts_to_conversations_with_the_async_pattern(infra) -> None:
    """POST /api/conversations with x-functions-key from a secure parameter; Logic Apps polls the 202."""
    definition = _load(infra, "conversation-http.json")
    assert definition["parameters"]["functionKey"]["type"] == "SecureString"
    http = [a for _, a in _actions(definition["actions"]) if a["type"] == "Http"]
    assert len(http) == 1
    (call,) = http
    inputs = call["inputs"]
    assert inputs["method"] == "POST"
    assert inputs["uri"].endswith("/api/conversations")
    assert inputs["headers"]["x-functions-key"] == "@parameters('functionKey')"
    assert "DisableAsyncPattern" not in call.get("operationOptions", "")
    assert set(inputs["body"]) <= {"message", "assistant", "conversation_id", "attachments", "metadata",
                                   "wait", "callback_url"}
    assert "message" in inputs["body"]
    uses = json.dumps({k: v for k, v in definition["actions"].items() if k != "Start_turn"})
    for field in ("status", "conversation_id", "messages"):
        assert f"body('Start_turn')?['{field}']" in uses, f"the sample reads the turn's {field}"


def test_queue_sample_sends_base64_and_reads_the_reply_by_correlation_id(infra) -> None:
    """The request goes base64-encoded onto the requests queue; the reply is matched by correlation_id."""
    definition = _load(infra, "conversation-queue.json")
    defaults = _defaults()
    calls = [a["inputs"] for _, a in _actions(definition["actions"]) if a["type"] == "ApiConnection"]
    put = [c for c in calls if c["method"] == "post"]
    assert len(put) == 1
    assert f"/queues/@{{encodeURIComponent('{defaults.requests_queue}')}}/messages" in put[0]["path"]
    assert put[0]["body"].startswith("@{base64(")
    gets = [c for c in calls if c["method"] == "get"]
    assert len(gets) == 1
    assert f"/queues/@{{encodeURIComponent('{defaults.replies_queue}')}}/messages" in gets[0]["path"]
    request = definition["actions"]["Request_message"]["inputs"]
    assert set(request) <= {"message", "conversation_id", "assistant", "correlation_id", "reply_queue",
                            "callback_url", "metadata"}
    assert request["reply_queue"] == defaults.replies_queue
    text = json.dumps(definition)
    assert "base64ToString(items('For_each_reply')?['MessageText'])" in text
    assert "?['correlation_id']" in text
    deletes = [c for c in calls if c["method"] == "delete"]
    assert len(deletes) == 1
    assert defaults.replies_queue in deletes[0]["path"]
