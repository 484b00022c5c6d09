"""HTTP routes as the Functions host serves them: templates, 404/500, auth levels with a key, control API."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from devhost.testing import DevHost
from tests.devhost.conftest import APPS, Durable, http, poll


@pytest.fixture
def host(devhost_factory: Callable[..., DevHost]) -> DevHost:
    """The durable sample app without keys (as `func start`)."""
    return devhost_factory("durable_app", app_dir=APPS)


def test_typed_route_parameter_and_query(host: DevHost) -> None:
    """{id:int} matches digits only and reaches the function as route_params; query params come along."""
    reply = http("GET", f"{host.url}/api/items/42?q=blue")
    assert (reply.status, reply.json()) == (200, {"id": 42, "q": "blue"})
    assert http("GET", f"{host.url}/api/items/abc").status == 404


def test_catch_all_route_parameter(host: DevHost) -> None:
    """{*path} captures the rest of the path, slashes included."""
    assert http("GET", f"{host.url}/api/files/a/b/c.txt").body == b"a/b/c.txt"


def test_unknown_route_and_wrong_method_are_404(host: DevHost) -> None:
    """A path no function serves answers 404, and so does a known route with another method (as the host)."""
    assert http("GET", f"{host.url}/api/nowhere").status == 404
    assert http("GET", f"{host.url}/elsewhere").status == 404
    assert http("DELETE", f"{host.url}/api/items/1").status == 404


def test_raising_function_is_500_and_logged_without_secrets(
    host: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    """A function that raises answers 500; the error is logged with sig/code/api-key values masked."""
    caplog.set_level(logging.INFO, logger="devhost")
    reply = http("GET", f"{host.url}/api/boom?code=CODE123&sig=SIG456", headers={"api-key": "KEY789"})
    assert reply.status == 500
    text = caplog.text
    assert "kaboom" in text
    assert "RuntimeError" in text
    for secret in ("CODE123", "SIG456", "KEY789"):
        assert secret not in text


def test_auth_not_enforced_without_a_key(host: DevHost) -> None:
    """Like `func start`, FUNCTION routes are open when no key is configured."""
    assert http("GET", f"{host.url}/api/secure").status == 200


def test_function_key_enforced_on_function_routes_only(devhost_factory: Callable[..., DevHost]) -> None:
    """With a key, FUNCTION routes need ?code= or x-functions-key (else 401); ANONYMOUS ones stay open."""
    keyed = devhost_factory("durable_app", app_dir=APPS, function_key="k-123")
    assert http("GET", f"{keyed.url}/api/secure").status == 401
    assert http("GET", f"{keyed.url}/api/secure?code=wrong").status == 401
    assert http("GET", f"{keyed.url}/api/secure?code=k-123").status == 200
    assert http("GET", f"{keyed.url}/api/secure", headers={"x-functions-key": "k-123"}).status == 200
    assert http("GET", f"{keyed.url}/api/items/7").status == 200
    assert http("GET", f"{keyed.url}/runtime/webhooks/durabletask/instances").status == 401


def test_keyed_status_uri_carries_the_key(devhost_factory: Callable[..., DevHost]) -> None:
    """With a key, the check-status URLs include it, so a client can poll them as on Azure."""
    keyed = devhost_factory("durable_app", app_dir=APPS, function_key="k-9")
    reply = http("POST", f"{keyed.url}/api/orchestrators/fan_out?code=k-9", {"n": 2})
    assert reply.status == 202
    assert "code=k-9" in reply.headers["Location"]
    assert poll(reply.headers["Location"], until=lambda r: r.status == 200).json()["output"] == 2


def test_control_api_stats_faults_and_clock(host: DevHost) -> None:
    """/_devhost/stats counts work, /_devhost/faults arms a failure, /_devhost/clock/advance moves time."""
    reply = http("POST", f"{host.url}/_devhost/faults", {"activity": "double", "mode": "fail", "times": 1})
    assert reply.status == 201
    status = Durable(host).wait(Durable(host).start("fan_out", {"n": 1}))
    assert status["runtimeStatus"] == "Failed"
    assert "devhost injected fault" in status["output"]
    stats = http("GET", f"{host.url}/_devhost/stats").json()
    assert stats["episodes"] >= 2
    assert stats["activity_failures"] == 1
    assert "replay_cpu_ms" in stats
    before = http("GET", f"{host.url}/_devhost/clock").json()["now"]
    after = http("POST", f"{host.url}/_devhost/clock/advance", {"seconds": 3600}).json()["now"]
    assert after > before
    assert (
        http("POST", f"{host.url}/_devhost/faults", {"activity": "double", "mode": "explode"}).status == 400
    )
    assert http("POST", f"{host.url}/_devhost/clock/advance", {"minutes": 1}).status == 400
