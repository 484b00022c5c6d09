"""The conversations HTTP API over real HTTP: keys, the Logic Apps async pattern, cancel, delete, limits."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest

from core import limits
from devhost.testing import DevHost
from store.tables import open_store
from tests.conftest import Stack
from tests.triggers.conftest import FUNCTION_KEY, assert_problem, emulator_holdings, wait_for


def marker() -> str:
    """A unique word that an emulator script can match on."""
    return f"m{uuid.uuid4().hex[:10]}"


# --- auth level FUNCTION ---------------------------------------------------------------------------

ROUTES = [
    ("POST", "/api/conversations"),
    ("POST", "/api/conversations/c1/messages"),
    ("GET", "/api/conversations/c1"),
    ("GET", "/api/conversations/c1/turns/1"),
    ("GET", "/api/conversations/c1/messages"),
    ("GET", "/api/files/file-1"),
    ("POST", "/api/conversations/c1/cancel"),
    ("DELETE", "/api/conversations/c1"),
    ("GET", "/api/openapi.json"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_but_health_needs_the_function_key(keyed: DevHost, method: str, path: str) -> None:
    """Without a key or with a wrong one: 401; with the key as ?code= or x-functions-key: the app answers."""
    with httpx2.Client(base_url=keyed.url) as http:
        body = {"message": "hi"} if method == "POST" else None
        assert http.request(method, path, json=body).status_code == 401
        assert http.request(method, path, json=body, params={"code": "wrong"}).status_code == 401
        assert http.request(method, path, json=body, headers={"x-functions-key": "wrong"}).status_code == 401
        for auth in ({"params": {"code": FUNCTION_KEY}}, {"headers": {"x-functions-key": FUNCTION_KEY}}):
            resp = http.request(method, path, json=body, **auth)  # type: ignore[arg-type]
            assert resp.status_code != 401
            assert resp.status_code < 500, resp.text


def test_health_answers_without_a_key(keyed: DevHost) -> None:
    """GET /api/health is anonymous, even on a host that enforces keys."""
    resp = httpx2.get(f"{keyed.url}/api/health")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"


# --- the Logic Apps HTTP action, asynchronous pattern ----------------------------------------------


@dataclass
class LogicAppsHttpAction:
    """What the Logic Apps HTTP action does with a 202: poll `Location` after `Retry-After` until not 202.

    It resolves a relative Location against the request URL and sends nothing but the URL on each poll
    (only an action's `authentication` block would be re-sent; a function key in the URI is not).
    `wait` is how the action lets Retry-After seconds pass.
    """

    wait: Callable[[float], None]
    polls: list[httpx2.Response] = field(default_factory=list)

    def run(self, method: str, url: str, body: Any) -> httpx2.Response:
        """Send the request; the final (non-202) answer."""
        with httpx2.Client() as http:
            resp = http.request(method, url, json=body)
            while resp.status_code == 202:
                self.polls.append(resp)
                self.wait(float(resp.headers["Retry-After"]))
                resp = http.get(urljoin(url, resp.headers["Location"]))
        return resp


def test_logic_apps_async_pattern_with_a_function_key(keyed: DevHost, stack: Stack,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """POST ?code= → 202 + Location + Retry-After → GET Location (key echoed in it) until 200 with the turn."""
    caplog.set_level(logging.DEBUG)
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "the answer is 42"}],
                               "polls_before_done": 3})

    def wait(seconds: float) -> None:
        # Retry-After seconds pass on the host's virtual clock, then the host works until it waits again.
        keyed.advance(seconds)
        keyed.wait_idle()

    action = LogicAppsHttpAction(wait=wait)
    keyed.clock.auto = False  # type: ignore[attr-defined]
    try:
        final = action.run("POST", f"{keyed.url}/api/conversations?code={FUNCTION_KEY}",
                           {"message": f"{word} what is the answer?", "assistant": "math-tutor"})
    finally:
        keyed.clock.auto = True  # type: ignore[attr-defined]
    assert final.status_code == 200, final.text
    turn = final.json()
    assert turn["status"] == "completed"
    assert "the answer is 42" in turn["messages"][0]["content"][0]["text"]
    assert len(action.polls) >= 2  # the POST's 202 and at least one 202 from polling while it ran
    cid = turn["conversation_id"]
    for resp in action.polls:
        location = urlsplit(resp.headers["Location"])
        assert location.path == f"/api/conversations/{cid}/turns/1"
        assert parse_qs(location.query) == {"code": [FUNCTION_KEY]}
        assert int(resp.headers["Retry-After"]) == limits.RETRY_AFTER_SECONDS
        assert resp.json()["status"] in ("queued", "running")
    # Without the echoed key the same URL is refused: the echo is what lets Logic Apps poll.
    assert httpx2.get(f"{keyed.url}/api/conversations/{cid}/turns/1").status_code == 401
    # The host and the app logged each request, never the key (the test's own HTTP client may: it is the caller).
    served = [r.getMessage() for r in caplog.records if r.name.startswith(("devhost", "durable_assistants"))]
    assert any("/api/conversations" in line for line in served)
    assert not [line for line in served if FUNCTION_KEY in line]


def test_a_key_sent_as_a_header_is_not_copied_into_location(keyed: DevHost) -> None:
    """x-functions-key stays a header: Location carries no key (a URL would spread it to logs and run history)."""
    with httpx2.Client(base_url=keyed.url, headers={"x-functions-key": FUNCTION_KEY}) as http:
        resp = http.post("/api/conversations", json={"message": "What is 2 + 2?", "assistant": "math-tutor"})
        assert resp.status_code == 202, resp.text
        assert FUNCTION_KEY not in resp.headers["Location"]
        assert http.get(resp.headers["Location"]).status_code in (200, 202)  # the header still works
        keyed.wait_idle()


def test_location_carries_no_key_when_none_was_sent(stack: Stack) -> None:
    """On a host without keys, Location is the bare turn URL."""
    resp = stack.start("What is 3 + 3?", assistant="math-tutor")
    assert resp.status_code == 202
    cid = resp.json()["conversation_id"]
    assert resp.headers["Location"] == f"/api/conversations/{cid}/turns/1"
    stack.turn(cid)


# --- wait, idempotency, reading ---------------------------------------------------------------------


def test_wait_answers_200_when_the_turn_finishes_in_time(stack: Stack) -> None:
    """`wait` lets a short turn answer 200 with the turn itself, no polling."""
    resp = stack.start("What is 5 + 5?", assistant="math-tutor", wait=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "completed"
    assert "Location" not in resp.headers


def test_idempotency_key_makes_one_turn(stack: Stack) -> None:
    """The same message POSTed twice with one Idempotency-Key is one turn and one run."""
    cid = stack.converse("What is 1 + 1?", assistant="math-tutor")["conversation_id"]
    before = stack.stats()
    key = f"retry/{uuid.uuid4()}#1?"  # characters a Table row key may not hold
    answers = [stack.http.post(f"/api/conversations/{cid}/messages", json={"message": "What is 2 + 2?"},
                               headers={"Idempotency-Key": key}) for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    assert answers[0].json()["turn"] == answers[1].json()["turn"] == 2
    assert stack.turn(cid, 2)["status"] == "completed"
    view = stack.http.get(f"/api/conversations/{cid}").json()
    assert [t["turn"] for t in view["turns"]] == [1, 2]
    assert stack.stats()["runs_started"] - before["runs_started"] == 1


def test_idempotency_key_makes_one_conversation(stack: Stack) -> None:
    """POST /api/conversations retried with one Idempotency-Key: one conversation, one turn, one run."""
    before = stack.stats()
    key = str(uuid.uuid4())
    answers = [stack.http.post("/api/conversations", json={"message": "What is 3 + 9?", "assistant": "math-tutor"},
                               headers={"Idempotency-Key": key}) for _ in range(2)]
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    assert answers[0].json()["conversation_id"] == answers[1].json()["conversation_id"]
    cid = answers[0].json()["conversation_id"]
    assert stack.turn(cid)["status"] == "completed"
    again = stack.http.post("/api/conversations", json={"message": "What is 3 + 9?", "assistant": "math-tutor"},
                            headers={"Idempotency-Key": key})
    assert again.status_code == 200
    assert again.json()["turn"] == 1
    assert stack.stats()["runs_started"] - before["runs_started"] == 1


def test_conversation_view_and_transcript(stack: Stack) -> None:
    """GET the conversation (idle, its turns) and its transcript (user and assistant messages, oldest first)."""
    cid = stack.converse("What is 7 + 1?", assistant="math-tutor")["conversation_id"]
    stack.post(cid, "And 7 + 2?")
    stack.turn(cid, 2)
    view = stack.http.get(f"/api/conversations/{cid}").json()
    assert view == {"conversation_id": cid, "assistant": "math-tutor", "backend": view["backend"],
                    "status": "idle", "turns": [{"turn": 1, "status": "completed"}, {"turn": 2, "status": "completed"}]}
    transcript = stack.http.get(f"/api/conversations/{cid}/messages").json()
    roles = [m["role"] for m in transcript["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert transcript["messages"][0]["content"][0]["text"] == "What is 7 + 1?"
    assert transcript["messages"][2]["content"][0]["text"] == "And 7 + 2?"


def test_a_file_gone_at_the_service_is_404(stack: Stack, backend: str) -> None:
    """A chart whose file the service no longer has (an expired container): 404 problem+json, not a 5xx."""
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "a chart", "images": 1}]})
    turn = stack.converse(f"{word} chart it", assistant="sales")
    (image,) = [c["file_id"] for m in turn["messages"] for c in m["content"] if c["type"] == "image"]
    assert stack.http.get(f"/api/files/{image}").headers["Content-Type"] == "image/png"

    def forget(state: Any) -> None:
        state.files.pop(image, None)
        for container in state.responses.containers.values():
            container.files.pop(image, None)

    stack.emulator.call(forget)
    assert_problem(stack.http.get(f"/api/files/{image}"), 404)


def test_unknown_conversation_turn_and_file_are_404(stack: Stack) -> None:
    """Well-formed ids that do not exist: 404 problem+json."""
    cid = stack.converse("What is 2 + 9?", assistant="math-tutor")["conversation_id"]
    for path in (f"/api/conversations/nope-{uuid.uuid4().hex}", f"/api/conversations/{cid}/turns/7",
                 f"/api/conversations/nope-{uuid.uuid4().hex}/messages", "/api/files/file-doesnotexist"):
        assert_problem(stack.http.get(path), 404)
    assert_problem(stack.post(f"nope-{uuid.uuid4().hex}", "hello"), 404)
    assert_problem(stack.http.post(f"/api/conversations/nope-{uuid.uuid4().hex}/cancel"), 404)
    assert_problem(stack.http.delete(f"/api/conversations/nope-{uuid.uuid4().hex}"), 404)


# --- the model service failing while a request is handled ----------------------------------------------


def test_upload_failing_at_the_service_is_503_and_creates_nothing(stack: Stack) -> None:
    """The service keeps failing an attachment upload: 503 problem+json with Retry-After; a retry then works."""
    stack.emulator.add_fault({"path_regex": "/files$", "status": 503, "times": 1})  # the SDK does not retry
    cid = f"up-{uuid.uuid4().hex}"
    body = {"message": "Sum column b", "assistant": "math-tutor", "conversation_id": cid, "attachments": [ATTACHMENT]}
    resp = stack.http.post("/api/conversations", json=body)
    assert_problem(resp, 503)
    assert int(resp.headers["Retry-After"]) >= 1
    assert_problem(stack.http.get(f"/api/conversations/{cid}"), 404)
    retry = stack.http.post("/api/conversations", json=body)
    assert retry.status_code == 202, retry.text
    assert stack.turn(cid)["status"] == "completed"


def test_attachment_refused_by_the_service_is_400_naming_it(stack: Stack) -> None:
    """The service refuses the file (400): 400 problem+json naming attachments[0]; nothing is created."""
    stack.emulator.add_fault({"path_regex": "/files$", "status": 400, "times": 1, "message": "unsupported file"})
    cid = f"up-{uuid.uuid4().hex}"
    body = {"message": "hi", "assistant": "math-tutor", "conversation_id": cid, "attachments": [ATTACHMENT]}
    problem = assert_problem(stack.http.post("/api/conversations", json=body), 400, "attachments[0]")
    assert "unsupported file" in problem["detail"]
    assert_problem(stack.http.get(f"/api/conversations/{cid}"), 404)


# --- cancel ---------------------------------------------------------------------------------------



def test_cancel_mid_run_then_the_queued_message_runs(stack: Stack, backend: str) -> None:
    """Cancel while turn 1 runs: 202, turn 1 cancelled and its run cancelled; turn 2, queued behind it, runs."""
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "never"}],
                               "polls_before_done": 1000})
    cid = stack.start(f"{word} slow one", assistant="math-tutor").json()["conversation_id"]
    wait_for(lambda: stack.run_statuses(cid))
    assert stack.post(cid, "What is 4 + 4?").json()["turn"] == 2
    cancel = stack.http.post(f"/api/conversations/{cid}/cancel")
    assert cancel.status_code == 202, cancel.text
    assert (cancel.json()["conversation_id"], cancel.json()["turn"]) == (cid, 1)
    assert cancel.json()["status"] in ("running", "requires_action")  # the turn as it is while being cancelled
    assert cancel.headers["Location"] == f"/api/conversations/{cid}/turns/1"
    assert stack.turn(cid, 1)["status"] == "cancelled"
    second = stack.turn(cid, 2)
    assert second["status"] == "completed"
    assert stack.run_statuses(cid) == ["cancelled", "completed"]


def test_cancel_after_the_orchestration_was_terminated(stack: Stack) -> None:
    """An operator terminated the orchestration mid-turn: cancel still answers 202 and the run is cancelled."""
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "never"}],
                               "polls_before_done": 1000})
    cid = stack.start(f"{word} slow one", assistant="math-tutor").json()["conversation_id"]
    wait_for(lambda: stack.run_statuses(cid))
    instance = f"{stack.host.url}/runtime/webhooks/durabletask/instances/{cid}"
    assert stack.http.post(f"{instance}/terminate", params={"reason": "operator"}).status_code == 202
    wait_for(lambda: stack.http.get(instance).json()["runtimeStatus"] == "Terminated")
    assert stack.http.post(f"/api/conversations/{cid}/cancel").status_code == 202
    assert stack.turn(cid, 1)["status"] == "cancelled"
    assert stack.run_statuses(cid) == ["cancelled"]


def test_cancel_of_an_idle_conversation_is_409(stack: Stack) -> None:
    """Nothing running: 409 problem+json, and nothing changes."""
    cid = stack.converse("What is 8 + 8?", assistant="math-tutor")["conversation_id"]
    assert_problem(stack.http.post(f"/api/conversations/{cid}/cancel"), 409)
    assert stack.http.get(f"/api/conversations/{cid}/turns/1").json()["status"] == "completed"


# --- delete -----------------------------------------------------------------------------------------


def test_delete_removes_backend_data_store_rows_and_history(stack: Stack, backend: str) -> None:
    """DELETE → 204; the emulator holds no thread/conversation or file of it, devhost no history; then 404s."""
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "a chart", "images": 1}]})
    csv = base64.b64encode(b"month,sales\njan,1\nfeb,2\n").decode()
    resp = stack.start(f"{word} chart this", assistant="sales",
                       attachments=[{"filename": "extra.csv", "content_base64": csv}])
    assert resp.status_code == 202, resp.text
    cid = resp.json()["conversation_id"]
    turn = stack.turn(cid)
    images = [c["file_id"] for m in turn["messages"] for c in m["content"] if c["type"] == "image"]
    assert images, turn
    assert stack.http.get(f"/api/files/{images[0]}").status_code == 200
    store = open_store()
    record = store.get_conversation(cid)
    assert record is not None
    assert record.backend_conversation
    ours = {f.file_id for f in store.files_of(cid)}
    assert set(images) <= ours
    assert len(ours) >= 2
    held = emulator_holdings(stack)
    assert record.backend_conversation in held["threads"] | held["conversations"]
    assert ours <= held["files"]

    assert stack.http.delete(f"/api/conversations/{cid}").status_code == 204

    held = emulator_holdings(stack)
    assert record.backend_conversation not in held["threads"] | held["conversations"]
    assert not ours & held["files"]
    assert stack.http.get(f"{stack.host.url}/runtime/webhooks/durabletask/instances/{cid}").status_code == 404
    assert store.get_conversation(cid) is None
    assert store.list_turns(cid) == []
    assert all(store.find_file(f) is None for f in ours)
    assert_problem(stack.http.get(f"/api/conversations/{cid}"), 404)
    assert_problem(stack.http.get(f"/api/conversations/{cid}/turns/1"), 404)
    assert_problem(stack.http.get(f"/api/files/{images[0]}"), 404)
    assert_problem(stack.http.delete(f"/api/conversations/{cid}"), 404)


def test_delete_of_a_conversation_that_never_opened_one_at_the_service(stack: Stack) -> None:
    """Its first turn failed before the backend conversation existed: DELETE still removes it and its files."""
    stack.host.faults.fail("open_conversation", times=50)
    try:
        resp = stack.start("hi", assistant="math-tutor", attachments=[ATTACHMENT])
        cid = resp.json()["conversation_id"]
        assert stack.turn(cid)["status"] == "failed"
    finally:
        stack.host.faults.clear()
    uploaded = {f.file_id for f in open_store().files_of(cid)}
    assert uploaded <= emulator_holdings(stack)["files"]
    assert stack.http.delete(f"/api/conversations/{cid}").status_code == 204
    assert not uploaded & emulator_holdings(stack)["files"]


def test_delete_mid_run_stops_the_conversation(stack: Stack) -> None:
    """DELETE while a turn runs: 204, the orchestration is gone and the service is asked nothing more."""
    word = marker()
    stack.emulator.add_script({"match": {"contains": word}, "steps": [{"message": "never"}],
                               "polls_before_done": 1000})
    cid = stack.start(f"{word} slow", assistant="math-tutor").json()["conversation_id"]
    wait_for(lambda: stack.run_statuses(cid))
    assert stack.http.delete(f"/api/conversations/{cid}").status_code == 204
    stack.host.wait_idle()
    before = stack.stats()
    stack.host.advance(120)
    stack.host.wait_idle()
    assert stack.stats()["requests"] == before["requests"]
    assert stack.http.get(f"{stack.host.url}/runtime/webhooks/durabletask/instances/{cid}").status_code == 404


# --- limits, enforced before the model is called ------------------------------------------------------

B64 = base64.b64encode(b"a,b\n1,2\n").decode()
ATTACHMENT = {"filename": "a.csv", "content_base64": B64}
LIMITS: list[tuple[str, str, str, Any, str]] = [
    # (id, method, path, body, field)
    ("message-too-long", "POST", "/api/conversations", {"message": "x" * (limits.MAX_MESSAGE_CHARS + 1)},
     "message"),
    ("message-empty", "POST", "/api/conversations", {"message": ""}, "message"),
    ("message-missing", "POST", "/api/conversations", {"assistant": "portfolio"}, "message"),
    ("11-attachments", "POST", "/api/conversations",
     {"message": "hi", "attachments": [ATTACHMENT] * (limits.MAX_ATTACHMENTS + 1)}, "attachments"),
    ("bad-base64", "POST", "/api/conversations",
     {"message": "hi", "attachments": [{"filename": "a.csv", "content_base64": "not base64!"}]},
     "attachments[0].content_base64"),
    ("unknown-assistant", "POST", "/api/conversations", {"message": "hi", "assistant": "nobody"}, "assistant"),
    ("malformed-assistant", "POST", "/api/conversations", {"message": "hi", "assistant": "../etc"}, "assistant"),
    ("malformed-conversation-id-in-body", "POST", "/api/conversations",
     {"message": "hi", "conversation_id": "bad id/"}, "conversation_id"),
    ("malformed-conversation-id-in-path", "GET", "/api/conversations/-bad", None, "conversation_id"),
    ("malformed-conversation-id-posting", "POST", "/api/conversations/-bad/messages", {"message": "hi"},
     "conversation_id"),
    ("turn-not-a-number", "GET", "/api/conversations/c1/turns/one", None, "turn"),
    ("turn-zero", "GET", "/api/conversations/c1/turns/0", None, "turn"),
    ("turn-too-big", "GET", f"/api/conversations/c1/turns/{limits.MAX_TURN + 1}", None, "turn"),
    ("turn-not-ascii-digits", "GET", "/api/conversations/c1/turns/²", None, "turn"),
    ("malformed-file-id", "GET", "/api/files/.hidden", None, "file_id"),
    ("wait-negative", "POST", "/api/conversations", {"message": "hi", "wait": -1}, "wait"),
    ("wait-over-60", "POST", "/api/conversations", {"message": "hi", "wait": 61}, "wait"),
    ("wait-not-a-number", "POST", "/api/conversations", {"message": "hi", "wait": True}, "wait"),
    ("unknown-field", "POST", "/api/conversations", {"message": "hi", "colour": "blue"}, "colour"),
    ("unknown-field-posting", "POST", "/api/conversations/c1/messages", {"message": "hi", "assistant": "x"},
     "assistant"),
    ("not-json", "POST", "/api/conversations", b"{not json", "body"),
    ("not-an-object", "POST", "/api/conversations", ["hi"], "body"),
    ("callback-not-https", "POST", "/api/conversations", {"message": "hi", "callback_url": "http://example.com/x"},
     "callback_url"),
    ("too-much-metadata", "POST", "/api/conversations",
     {"message": "hi", "metadata": {f"k{i}": "v" for i in range(limits.MAX_METADATA_KEYS + 1)}}, "metadata"),
    ("oversized-body", "POST", "/api/conversations",
     b'{"message": "' + b"x" * limits.MAX_BODY_BYTES + b'"}', "body"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), [case[1:] for case in LIMITS],
                         ids=[case[0] for case in LIMITS])
def test_limits_are_400_before_the_model_is_called(stack: Stack, method: str, path: str, body: Any,
                                                    field: str) -> None:
    """Each limit answers 400 problem+json naming the field, and the model service sees no request."""
    before = stack.stats()
    content = body if isinstance(body, bytes) else None
    resp = stack.http.request(method, path, json=None if content is not None else body, content=content)
    problem = assert_problem(resp, 400, field)
    assert problem["instance"] == urlsplit(str(resp.request.url)).path
    stack.host.wait_idle()
    assert stack.stats() == before


def test_bad_idempotency_key_is_400(stack: Stack) -> None:
    """An Idempotency-Key longer than 200 characters is refused, naming the header."""
    before = stack.stats()
    resp = stack.http.post("/api/conversations", json={"message": "hi"}, headers={"Idempotency-Key": "k" * 201})
    assert_problem(resp, 400, "Idempotency-Key")
    assert stack.stats() == before


def test_existing_conversation_id_is_409(stack: Stack) -> None:
    """Starting a conversation under an id that exists: 409 naming conversation_id; the service sees nothing."""
    cid = f"mine-{uuid.uuid4().hex}"
    assert stack.converse("What is 6 + 6?", assistant="math-tutor", conversation_id=cid)["status"] == "completed"
    before = stack.stats()
    assert_problem(stack.start("again", assistant="math-tutor", conversation_id=cid), 409, "conversation_id")
    stack.host.wait_idle()
    assert stack.stats() == before
    view = stack.http.get(f"/api/conversations/{cid}").json()
    assert view["turns"] == [{"turn": 1, "status": "completed"}]
