"""Sample app for devhost's tests: orchestrations covering the Durable patterns, plus a few HTTP routes."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# Side-effect counters the tests read (an activity's "outside world").
_lock = threading.Lock()
CALLS: dict[str, int] = {}
SIDE_EFFECTS: list[str] = []
RELEASE = threading.Event()  # the blocking activity waits for it
STARTED = threading.Event()  # set when the blocking activity has started
REPLAYS = {"flaky_choice": 0}


def _count(name: str) -> int:
    with _lock:
        CALLS[name] = CALLS.get(name, 0) + 1
        return CALLS[name]


# ----- activities -----


@app.activity_trigger(input_name="value")
def double(value: int) -> int:
    """Doubles a number."""
    _count("double")
    return value * 2


@app.activity_trigger(input_name="value")
async def shout(value: str) -> str:
    """An async activity."""
    _count("shout")
    return value.upper()


@app.activity_trigger(input_name="value")
def always_fails(value: str) -> str:
    """Fails every time, counting attempts."""
    attempt = _count("always_fails")
    raise ValueError(f"attempt {attempt} failed for {value}")


@app.activity_trigger(input_name="value")
def record(value: str) -> str:
    """A side effect: appends to SIDE_EFFECTS."""
    _count("record")
    with _lock:
        SIDE_EFFECTS.append(value)
    return f"recorded {value}"


@app.activity_trigger(input_name="value")
def blocking_step(value: str) -> str:
    """Waits until the test releases it (to stop a host mid-activity)."""
    _count("blocking_step")
    STARTED.set()
    RELEASE.wait(timeout=60)
    return f"done {value}"


# ----- orchestrations -----


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    """Doubles 0..n-1 in parallel and sums the results."""
    n = int(context.get_input()["n"])
    results = yield context.task_all([context.call_activity("double", i) for i in range(n)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    """task_any between an activity and a one-hour timer: the activity wins."""
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    work = context.call_activity("shout", "fast")
    winner = yield context.task_any([work, timer])
    if winner == work:
        timer.cancel()
        return {"winner": "activity", "result": work.result}
    return {"winner": "timer"}


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    """Records a new_uuid, sleeps an hour on a durable timer, and reports the uuid and the times around it."""
    token = context.new_uuid()
    before = context.current_utc_datetime
    yield context.call_activity("record", token)
    yield context.create_timer(before + timedelta(hours=1))
    after = context.current_utc_datetime
    return {"before": before.isoformat(), "after": after.isoformat(), "uuid": token}


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):
    """Calls a failing activity with 3 attempts and reports the error it finally sees."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=60_000, max_number_of_attempts=3)
    try:
        yield context.call_activity_with_retry("always_fails", options, "x")
    except Exception as exc:
        return {"failed": True, "error": str(exc)}
    return {"failed": False}


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """Does some work, then waits for events 'first' and 'second' (either may arrive early)."""
    yield context.call_activity("blocking_step", "approval")
    context.set_custom_status({"stage": "waiting"})
    first = yield context.wait_for_external_event("first")
    second = yield context.wait_for_external_event("second")
    context.set_custom_status({"stage": "done"})
    return [first, second]


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    """Runs two sub-orchestrations: one with a chosen instance id, one with a generated id."""
    named = yield context.call_sub_orchestrator("child", {"n": 2}, f"{context.instance_id}-named")
    unnamed = yield context.call_sub_orchestrator("child", {"n": 5})
    return [named, unnamed]


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    """Doubles its input's n."""
    n = context.get_input()["n"]
    return (yield context.call_activity("double", n))


@app.orchestration_trigger(context_name="context")
def failing_child(context: df.DurableOrchestrationContext):
    """Fails."""
    yield context.call_activity("double", 1)
    raise RuntimeError("child broke")


@app.orchestration_trigger(context_name="context")
def parent_of_failure(context: df.DurableOrchestrationContext):
    """Surfaces a sub-orchestration's failure."""
    try:
        yield context.call_sub_orchestrator("failing_child", None)
    except Exception as exc:
        return {"caught": str(exc)}
    return {"caught": None}


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    """Generation 0 gets an event it does not wait for, then continues as new; generation 1 waits for it."""
    state = context.get_input() or {"generation": 0, "total": 0}
    if state["generation"] == 0:
        yield context.call_activity("blocking_step", "gen0")
        total = state["total"] + (yield context.call_activity("double", 10))
        context.continue_as_new({"generation": 1, "total": total})
        return None
    context.set_custom_status({"generation": state["generation"], "total": state["total"]})
    timeout = context.create_timer(context.current_utc_datetime + timedelta(minutes=5))
    event = context.wait_for_external_event("nudge")
    winner = yield context.task_any([event, timeout])
    return {"generation": state["generation"], "total": state["total"], "nudged": winner == event}


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):
    """Waits for an event that may never come (terminate / running-id tests)."""
    return (yield context.wait_for_external_event("never"))


@app.orchestration_trigger(context_name="context")
def flaky_choice(context: df.DurableOrchestrationContext):
    """Non-deterministic on purpose: it calls a different activity on replay."""
    REPLAYS["flaky_choice"] += 1
    name = "double" if REPLAYS["flaky_choice"] == 1 else "shout"
    yield context.call_activity(name, 1 if name == "double" else "x")
    yield context.call_activity("double", 2)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def side_effects(context: df.DurableOrchestrationContext):
    """Records one side effect through an activity."""
    return (yield context.call_activity("record", context.get_input()["tag"]))


@app.orchestration_trigger(context_name="context")
def resumable(context: df.DurableOrchestrationContext):
    """An activity that blocks until released, then one more step."""
    first = yield context.call_activity("blocking_step", "r")
    second = yield context.call_activity("double", 21)
    return [first, second]


@app.orchestration_trigger(context_name="context")
def uses_entities(context: df.DurableOrchestrationContext):
    """Calls an entity, which devhost does not support."""
    yield context.call_entity(df.EntityId("Counter", "k"), "add", 1)
    return "unreachable"


# ----- HTTP -----


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Starts an orchestration with the SDK's client and answers its check-status response."""
    body = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(req.route_params["name"], req.params.get("id"), body)
    return client.create_check_status_response(req, instance_id)


@app.route(route="manage/{instance_id}/{action}", methods=["POST", "GET", "DELETE"])
@app.durable_client_input(client_name="client")
async def http_manage(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Drives the SDK client's management calls: status, raise, terminate, purge."""
    instance_id, action = req.route_params["instance_id"], req.route_params["action"]
    if action == "status":
        status = await client.get_status(instance_id, show_history=True, show_history_output=True)
        return func.HttpResponse(json.dumps(status.to_json(), default=str), mimetype="application/json")
    if action == "raise":
        await client.raise_event(instance_id, req.params["event"], req.get_json())
    elif action == "terminate":
        await client.terminate(instance_id, req.params.get("reason", "stopped"))
    elif action == "purge":
        result = await client.purge_instance_history(instance_id)
        return func.HttpResponse(json.dumps({"deleted": result.instances_deleted}))
    return func.HttpResponse(status_code=202)


@app.route(route="items/{id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_item(req: func.HttpRequest) -> func.HttpResponse:
    """A typed route parameter, open to anyone."""
    return func.HttpResponse(
        json.dumps({"id": int(req.route_params["id"]), "q": req.params.get("q")}), mimetype="application/json"
    )


@app.route(route="files/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_file(req: func.HttpRequest) -> func.HttpResponse:
    """A catch-all route parameter."""
    return func.HttpResponse(req.route_params.get("path", ""))


@app.route(route="secure", methods=["GET"])
def secure(req: func.HttpRequest) -> func.HttpResponse:
    """Needs the function key when keys are enforced."""
    return func.HttpResponse("secret stuff")


@app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    """Raises; the message carries the request URL (with its secrets) to prove the log redacts them."""
    raise RuntimeError(f"kaboom while serving {req.url} key={req.headers.get('api-key')}")


@app.route(route="settings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def settings(req: func.HttpRequest) -> func.HttpResponse:
    """Which model/outside-service settings the app sees (the key only as set or not)."""
    import os

    names = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT", "EMAIL_URI", "STOCK_QUOTES_URI")
    body = {n: os.environ.get(n) for n in names}
    body["AZURE_OPENAI_API_KEY_SET"] = bool(os.environ.get("AZURE_OPENAI_API_KEY"))
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def retry_mix(context: df.DurableOrchestrationContext):
    """Retrying and plain activities in one task_all, then one more step (exercises task-id bookkeeping)."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    first = context.call_activity_with_retry("double", options, 1)
    plain = context.call_activity("shout", "x")
    second = context.call_activity_with_retry("double", options, 2)
    results = yield context.task_all([first, plain, second])
    last = yield context.call_activity("double", 3)
    return [*results, last]


@app.orchestration_trigger(context_name="context")
def sub_retry(context: df.DurableOrchestrationContext):
    """A sub-orchestration with retry options (its activity fails once, injected by the test)."""
    options = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=2)
    return (yield context.call_sub_orchestrator_with_retry("child", options, {"n": 4}))


@app.orchestration_trigger(context_name="context")
def long_sleeper(context: df.DurableOrchestrationContext):
    """A 10-day timer: longer than the 6-day maximum, so the SDK splits it into pieces."""
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(days=10))
    return (context.current_utc_datetime - start).days


@app.orchestration_trigger(context_name="context")
def crashing(context: df.DurableOrchestrationContext):
    """Raises after one activity."""
    yield context.call_activity("double", 1)
    raise ValueError("orchestrator gave up")
