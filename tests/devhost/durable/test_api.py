"""The Durable HTTP API refuses malformed calls with 400 and a clear message, unsupported ones with 501."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devhost.testing import DevHost
from tests.devhost.conftest import APPS, http


@pytest.fixture
def base(devhost_factory: Callable[..., DevHost]) -> str:
    """The webhook base URL of a durable sample app."""
    return devhost_factory("durable_app", app_dir=APPS).url + "/runtime/webhooks/durabletask"


def test_start_with_invalid_json_is_400(base: str) -> None:
    """A start body that is not JSON is refused."""
    reply = http("POST", f"{base}/orchestrators/fan_out", raw=b"{not json")
    assert reply.status == 400
    assert "Invalid JSON content" in reply.json()["Message"]


def test_start_of_unknown_orchestrator_is_400_naming_it(base: str) -> None:
    """Starting a function that is not an orchestrator is a 400 whose ExceptionMessage names it."""
    reply = http("POST", f"{base}/orchestrators/double")
    assert reply.status == 400
    assert "The function 'double' doesn't exist" in reply.json()["ExceptionMessage"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("runtimeStatus=Bogus", "runtimeStatus 'Bogus'"),
        ("top=0", "'top' must be a positive integer"),
        ("top=many", "'top' must be a positive integer"),
        ("createdTimeFrom=yesterday", "'createdTimeFrom' must be an ISO 8601 date-time"),
        ("showInput=maybe", "'showInput' must be true or false"),
    ],
)
def test_malformed_query_is_400(base: str, query: str, message: str) -> None:
    """Malformed query parameters are named in a 400 instead of being silently ignored."""
    reply = http("GET", f"{base}/instances?{query}")
    assert reply.status == 400
    assert message in reply.json()["Message"]


def test_purge_by_filter_needs_created_time_from(base: str) -> None:
    """DELETE /instances without createdTimeFrom is a 400 (as the extension answers)."""
    reply = http("DELETE", f"{base}/instances")
    assert reply.status == 400
    assert "createdTimeFrom" in reply.json()["Message"]


def test_bad_continuation_token_is_400(base: str) -> None:
    """A continuation token devhost did not issue is refused."""
    reply = http("GET", f"{base}/instances?top=1", headers={"x-ms-continuation-token": "garbage!"})
    assert reply.status == 400


def test_raise_event_needs_json_content_and_a_known_instance(base: str) -> None:
    """raiseEvent on an unknown id is 404; with a non-JSON content type it is 400."""
    assert http("POST", f"{base}/instances/nope/raiseEvent/x", {"a": 1}).status == 404
    start = http("POST", f"{base}/orchestrators/waiter/w-json")
    assert start.status == 202
    reply = http(
        "POST", f"{base}/instances/w-json/raiseEvent/never", raw=b"hi", headers={"Content-Type": "text/plain"}
    )
    assert reply.status == 400
    assert "application/json" in reply.json()["Message"]


def test_unknown_instance_status_is_404(base: str) -> None:
    """GET of an instance that never existed is 404."""
    assert http("GET", f"{base}/instances/never-was").status == 404


def test_unsupported_operations_answer_501(base: str) -> None:
    """rewind/suspend/resume and entities are refused loudly (501), never a silent no-op."""
    http("POST", f"{base}/orchestrators/waiter/w-501")
    for op in ("rewind", "suspend", "resume", "restart"):
        reply = http("POST", f"{base}/instances/w-501/{op}")
        assert reply.status == 501
        assert "devhost does not support" in reply.json()["Message"]
    assert http("GET", f"{base}/entities/counter/k").status == 501
