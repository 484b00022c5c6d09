"""One turn: start the run, poll it with durable timers, fan tool calls out, and end in a final state."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from core import names
from core.records import (
    TERMINAL_RUN_STATUSES,
    CompleteTurn,
    ConversationState,
    ErrorInfo,
    PreparedAssistant,
    Refusal,
    RetryLater,
    RunRef,
    RunState,
    StartTurn,
    SubmitToolOutputs,
    ToolCall,
    ToolOutcome,
    ToolOutput,
    ToolTask,
    TurnOutput,
    TurnRequest,
    TurnStatus,
)
from orchestrations.polling import next_poll_delay, run_retry_delay

# Activities raise only on transient trouble or a bug (model refusals come back as data): retry those.
ACTIVITY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=5)
# A run that failed with one of these is worth a new run.
RETRYABLE_RUN_ERRORS = frozenset({"rate_limit_exceeded", "server_error"})
# Tool work must end this long before the run expires, to leave time to submit.
EXPIRY_MARGIN_SECONDS = 15.0
# Polls of a run being cancelled before we stop waiting for `cancelled`.
CANCEL_POLLS = 5
# Looks at a knowledge vector store still being indexed before the turn goes ahead without waiting more.
INGESTION_CHECKS = 12
# How long one model call may keep waiting out a throttled or failing service (then the turn fails).
MODEL_RETRY_BUDGET_SECONDS = 300.0
MAX_RETRY_WAIT_SECONDS = 60.0
CUSTOM_STATUS_TOOLS = 20

Task = Any  # the Durable SDK's TaskBase; kept loose so this module stays free of SDK internals
Flow = Generator[Task, Any, Any]


class TurnStopped(Exception):
    """The caller cancelled the turn, or it ran out of time."""

    def __init__(self, status: TurnStatus, error: ErrorInfo | None) -> None:
        super().__init__(status)
        self.status = status
        self.error = error


def error_from(exc: Exception) -> ErrorInfo:
    """ErrorInfo from an activity failure whose message reads 'code: message'."""
    text = str(exc).strip().split("\n", 1)[0].strip()
    code, sep, message = text.partition(": ")
    if sep and code and " " not in code:
        return ErrorInfo(code=code, message=message.strip())
    return ErrorInfo(code="activity_failed", message=text or type(exc).__name__)


class TurnRunner:
    """Drives one turn inside the conversation orchestration; every method is replay-safe."""

    def __init__(self, context: df.DurableOrchestrationContext, state: ConversationState,
                 request: TurnRequest) -> None:
        self.ctx = context
        self.state = state
        self.request = request
        self.config = state.config
        self.backend_conversation = state.backend_conversation
        self.refs: list[RunRef] = []
        self.tool_calls: list[ToolOutcome] = []
        self.deadline: datetime = context.current_utc_datetime
        self.cancel_event: Task = None
        self.instructions = ""

    # --- the turn ---------------------------------------------------------------------------

    def run(self) -> Flow:
        """The whole turn; returns the CompleteTurn record for the completing activity."""
        ctx = self.ctx
        self.deadline = ctx.current_utc_datetime + timedelta(seconds=self.config.turn_timeout_seconds)
        # One waiter for the whole turn, raced against every timer and tool round.
        self.cancel_event = ctx.wait_for_external_event(names.cancel_event(self.request.turn))
        try:
            self.report("preparing")
            prepared = yield from self.prepare()
            # Rendered once: every response of the turn (Responses sends instructions each time) says the same.
            when = ctx.current_utc_datetime.strftime("%Y-%m-%d %H:%M UTC")
            self.instructions = prepared.run_instructions.replace("{now}", when)
            if self.backend_conversation is None:
                self.backend_conversation = yield from self.model(
                    names.OPEN_CONVERSATION, {"conversation_id": self.state.conversation_id,
                                              "backend": self.state.backend})
            final = yield from self.runs(prepared)
            status, error = self.outcome(final)
        except TurnStopped as stop:
            status, error = stop.status, stop.error
        except Exception as exc:  # an activity out of retries: the turn fails with what it said
            status, error = "failed", error_from(exc)
        self.report("completing", turn_status=status)
        output = TurnOutput()
        if self.refs:
            try:
                output = TurnOutput.from_json((yield from self.model(
                    names.COLLECT_TURN, {"backend": self.state.backend, "refs": [r.to_json() for r in self.refs]},
                    cancellable=False)))
            except Exception as exc:  # the service would not give the messages back in time
                if status == "completed":
                    status, error = "failed", exc.error if isinstance(exc, TurnStopped) else error_from(exc)
        return CompleteTurn(conversation_id=self.request.conversation_id, turn=self.request.turn, status=status,
                            output=output, tool_calls=self.tool_calls, error=error, backend=self.state.backend)

    def prepare(self) -> Flow:
        """Sync the assistant; while the service still indexes its knowledge, wait (briefly) and look again."""
        payload = {"assistant": self.state.assistant, "backend": self.state.backend}
        prepared = PreparedAssistant.from_json((yield from self.model(names.PREPARE_ASSISTANT, payload)))
        for attempt in range(INGESTION_CHECKS):
            if not prepared.ingesting:
                break
            self.report("indexing_knowledge", attempt=attempt + 1)
            yield from self.wait(min(2.0 * (attempt + 1), 10.0), None)
            prepared = PreparedAssistant.from_json((yield from self.model(names.PREPARE_ASSISTANT, payload)))
        return prepared

    def runs(self, prepared: PreparedAssistant) -> Flow:
        """Start runs until one ends in a state that a new run would not change."""
        final: RunState | None = None
        for attempt in range(1, self.config.max_run_attempts + 1):
            self.report("starting", attempt=attempt)
            request = self.start_request(prepared, attempt)
            started = RunState.from_json((yield from self.model(names.START_RUN, request)))
            if started.ref.run_id:
                self.refs.append(started.ref)
            final = yield from self.drive(started, prepared)
            retry = (final.status == "failed" and final.error is not None
                     and final.error.code in RETRYABLE_RUN_ERRORS and attempt < self.config.max_run_attempts)
            if not retry:
                break
            self.report("backing_off", attempt=attempt, last_error=final.error.code if final.error else None)
            yield from self.wait(run_retry_delay(attempt), None)
        assert final is not None
        return final

    def start_request(self, prepared: PreparedAssistant, attempt: int) -> dict[str, Any]:
        """StartTurn for this attempt; the key makes a retried activity adopt the run it created."""
        assert self.backend_conversation is not None
        return StartTurn(
            key=f"{self.ctx.instance_id}:{self.request.turn}:{attempt}",
            conversation=self.backend_conversation,
            assistant=prepared,
            message=self.request.message,
            attachments=self.request.attachments,
            instructions=self.instructions,
            metadata={"conversation_id": self.request.conversation_id, "turn": str(self.request.turn)},
            first_attempt=attempt == 1,
        ).to_json()

    def drive(self, state: RunState, prepared: PreparedAssistant) -> Flow:
        """Poll the run to a terminal state, answering each round of tool calls."""
        polls, rounds = 0, 0
        phase_started = self.ctx.current_utc_datetime
        while state.status not in TERMINAL_RUN_STATUSES:
            if state.status == "requires_action":
                rounds += 1
                yield from self.mark("requires_action")
                outputs = yield from self.run_tools(state, prepared)
                self.report("submitting", round=rounds)
                key = f"{self.ctx.instance_id}:{self.request.turn}:{state.ref.run_id}:{rounds}"
                submit = SubmitToolOutputs(key=key, ref=state.ref, assistant=prepared, outputs=outputs,
                                           instructions=self.instructions)
                try:
                    state = RunState.from_json(
                        (yield from self.model(names.SUBMIT_TOOL_OUTPUTS, submit.to_json(), state.ref)))
                except TurnStopped:
                    # Calls left unanswered would make the service refuse every later turn: close them.
                    yield from self.cancel_run(state.ref)
                    raise
                yield from self.mark("running")
                if state.ref not in self.refs:
                    self.refs.append(state.ref)
                phase_started = self.ctx.current_utc_datetime
                continue
            elapsed = (self.ctx.current_utc_datetime - phase_started).total_seconds()
            self.report("polling", run_status=state.status, polls=polls)
            yield from self.wait(next_poll_delay(elapsed, state.poll_after_ms, self.config), state.ref)
            state = RunState.from_json((yield from self.model(names.POLL_RUN, state.ref.to_json(), state.ref)))
            polls += 1
        return state

    # --- tools ------------------------------------------------------------------------------

    def run_tools(self, state: RunState, prepared: PreparedAssistant) -> Flow:
        """Run every call of the round in parallel; each ends as an outcome, whatever happens."""
        ctx = self.ctx
        budget = self.tool_budget(state)
        outcomes: dict[str, ToolOutcome] = {}
        tasks: dict[str, Task] = {}
        for call in state.tool_calls:
            activity = prepared.tool_activities.get(call.name)
            if activity is None:
                known = ", ".join(prepared.tool_activities) or "none"
                outcomes[call.id] = ToolOutcome.of(call, "rejected", "unknown_tool",
                                                   f"no tool named {call.name!r}; available: {known}")
            elif budget <= 0:
                outcomes[call.id] = ToolOutcome.of(call, "failed", "timeout", "no time left before the run expires")
            else:
                task = ToolTask(call=call, instance_id=ctx.instance_id, assistant=prepared.name,
                                timeout_seconds=max(1.0, budget - 2.0))
                tasks[call.id] = ctx.call_activity(activity, task.to_json())
        stopped: TurnStopped | None = None
        if tasks:
            self.report("tools", tools_in_flight=[c.name for c in state.tool_calls if c.id in tasks])
            timer = ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=budget))
            all_done = ctx.task_all(list(tasks.values()))
            winner = yield ctx.task_any([all_done, timer, self.cancel_event])
            if winner is not timer:
                timer.cancel()
            if winner is self.cancel_event:
                stopped = TurnStopped("cancelled", None)
        for call in state.tool_calls:
            if call.id in tasks:
                outcomes[call.id] = self.tool_outcome(call, tasks[call.id], stopped)
        round_outcomes = [outcomes[c.id] for c in state.tool_calls]
        self.tool_calls.extend(round_outcomes)
        if stopped is not None:
            yield from self.cancel_run(state.ref)
            raise stopped
        return [ToolOutput(call_id=o.id, output=o.output) for o in round_outcomes]

    def tool_budget(self, state: RunState) -> float:
        """Seconds tool work may take: the tool cap, the run's expiry, and the turn deadline."""
        budget = self.config.tool_timeout_seconds
        if state.expires_in_seconds is not None:
            budget = min(budget, state.expires_in_seconds - EXPIRY_MARGIN_SECONDS)
        return min(budget, (self.deadline - self.ctx.current_utc_datetime).total_seconds())

    @staticmethod
    def tool_outcome(call: ToolCall, task: Task, stopped: TurnStopped | None) -> ToolOutcome:
        """The outcome of one tool task: its result, or why there is none."""
        if task.is_completed and task.result is not None and not isinstance(task.result, Exception):
            return ToolOutcome.from_json(task.result)
        if task.is_completed:
            return ToolOutcome.of(call, "failed", "failed", str(task.result).split("\n", 1)[0])
        if stopped is not None:
            return ToolOutcome.of(call, "failed", "cancelled", "the turn was cancelled before the tool finished")
        return ToolOutcome.of(call, "failed", "timeout", "the tool did not finish in time")

    # --- waiting, cancelling, reporting -------------------------------------------------------

    def wait(self, seconds: float, ref: RunRef | None, cancellable: bool = True) -> Flow:
        """A durable timer raced against cancel; past the turn deadline the run is cancelled instead."""
        ctx = self.ctx
        fire_at = ctx.current_utc_datetime + timedelta(seconds=seconds)
        if not cancellable:
            yield ctx.create_timer(fire_at)
            return
        overdue = fire_at >= self.deadline
        timer = ctx.create_timer(min(fire_at, self.deadline))
        winner = yield ctx.task_any([timer, self.cancel_event])
        if winner is self.cancel_event:
            timer.cancel()
            if ref is not None:
                yield from self.cancel_run(ref)
            raise TurnStopped("cancelled", None)
        if overdue:  # the turn's time is up: the run is cancelled and the turn ends expired
            if ref is not None:
                yield from self.cancel_run(ref)
            raise TurnStopped("expired", ErrorInfo(
                code="turn_timeout", message=f"the turn ran longer than {self.config.turn_timeout_seconds:g} s"))

    def cancel_run(self, ref: RunRef) -> Flow:
        """Cancel the run at the service and wait (briefly) until it says `cancelled`."""
        self.report("cancelling")
        try:
            state = RunState.from_json((yield from self.model(names.CANCEL_RUN, ref.to_json(), cancellable=False)))
            for _ in range(CANCEL_POLLS):
                if state.status in TERMINAL_RUN_STATUSES:
                    break
                yield self.ctx.create_timer(
                    self.ctx.current_utc_datetime + timedelta(seconds=self.config.poll_min_seconds))
                state = RunState.from_json((yield from self.model(names.POLL_RUN, ref.to_json(), cancellable=False)))
        except Exception:  # noqa: S110 - the service would not answer: the turn ends as decided all the same
            pass

    def activity(self, name: str, payload: Any) -> Task:
        """Call an activity with the transient-failure retry policy."""
        return self.ctx.call_activity_with_retry(name, ACTIVITY_RETRY, payload)

    def model(self, name: str, payload: Any, ref: RunRef | None = None, cancellable: bool = True) -> Flow:
        """Call a model activity; while the service throttles or fails, wait it out with durable timers."""
        waited, attempt = 0.0, 0
        while True:
            attempt += 1
            result = yield self.activity(name, payload)
            refused = Refusal.parse(result)
            if refused is not None:
                raise TurnStopped("failed", refused.error)
            retry = RetryLater.parse(result)
            if retry is None:
                return result
            # At least the service's Retry-After, and longer each time it keeps refusing: 1, 2, 4 ... 60 s.
            delay = max(retry.retry_after_seconds or 0.0, 2.0 ** (attempt - 1))
            delay = min(delay, MAX_RETRY_WAIT_SECONDS)
            if waited + delay > MODEL_RETRY_BUDGET_SECONDS:
                raise TurnStopped("failed", retry.error)
            waited += delay
            self.report("waiting_for_service", error=retry.error.code, retry_in_seconds=delay, attempt=attempt)
            yield from self.wait(delay, ref, cancellable=cancellable)

    def mark(self, status: TurnStatus) -> Flow:
        """Show the turn's status to callers (GET turn): running, or requires_action during a tool round."""
        yield self.activity(names.MARK_TURN, {"conversation_id": self.request.conversation_id,
                                              "turn": self.request.turn, "status": status})

    def report(self, phase: str, **details: Any) -> None:
        """Custom status: where the turn is (no message text, no secrets, well under 16 KB)."""
        progress = {"conversation_id": self.request.conversation_id, "turn": self.request.turn,
                    "phase": phase, **details}
        if "tools_in_flight" in details:
            progress["tools_in_flight"] = details["tools_in_flight"][:CUSTOM_STATUS_TOOLS]
        self.ctx.set_custom_status(progress)

    @staticmethod
    def outcome(final: RunState) -> tuple[TurnStatus, ErrorInfo | None]:
        """The turn's status and error from the last run's terminal state."""
        if final.status == "completed":
            return "completed", None
        if final.status == "incomplete":
            reason = final.incomplete_reason or "unknown"
            return "incomplete", ErrorInfo(code="incomplete", message=f"the response is incomplete: {reason}")
        if final.status == "expired":
            return "expired", final.error or ErrorInfo(code="run_expired", message="the run expired")
        if final.status == "cancelled":
            return "cancelled", final.error
        return "failed", final.error or ErrorInfo(code="run_failed", message=f"the run ended {final.status}")
