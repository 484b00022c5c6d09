"""What runs and responses share: pacing over polls and the clock, and who plays the turn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .charts import ChartSpec
from .control_models import FinalStatus, MessageStep, Script, ScriptError
from .csvdata import parse_table
from .policy import Answer, ToolCall, ToolRound, TurnContext, chart_for, decide


@dataclass
class Pacing:
    """How many polls (and how much clock time) a turn takes before its next stable state."""

    polls_before_done: int
    duration_seconds: float | None
    started: float
    polls_left: int = 0

    def __post_init__(self) -> None:
        self.polls_left = self.polls_before_done

    def restart(self) -> None:
        """A new stretch of work begins (tool outputs arrived)."""
        self.polls_left = self.polls_before_done

    def tick(self) -> bool:
        """Count one poll; True when the turn may move to its next stable state."""
        if self.polls_left > 0:
            self.polls_left -= 1
            return False
        return True

    def may_finish(self, now: float) -> bool:
        return self.duration_seconds is None or now - self.started >= self.duration_seconds


@dataclass(frozen=True)
class Finish:
    """The end of a turn: its terminal status, the answer (if any) and the error (for failures)."""

    status: FinalStatus
    answer: Answer | None
    error: ScriptError | None = None


Step = ToolRound | Finish

DEFAULT_ERROR = ScriptError(code="server_error", message="Sorry, something went wrong.")


@dataclass
class Plan:
    """Who plays a turn: a script, followed step by step, or the default policy."""

    script: Script | None = None
    cursor: int = 0

    def next_step(self, context: Callable[[], TurnContext]) -> Step:
        """The turn's next step; `context` is built only when the policy or a chart needs it."""
        script = self.script
        if script is None:
            decision = decide(context())
            return decision if isinstance(decision, ToolRound) else Finish("completed", decision)
        if self.cursor < len(script.steps):
            step = script.steps[self.cursor]
            self.cursor += 1
            if not isinstance(step, MessageStep):
                return ToolRound(
                    tuple(ToolCall(call.name, call.arguments_text()) for call in step.tool_calls)
                )
            return self._finish(
                Answer(step.message, scripted_charts(context(), step.images) if step.images else ())
            )
        return self._finish(None)

    def _finish(self, answer: Answer | None) -> Finish:
        assert self.script is not None
        status = self.script.final_status
        if status in ("failed", "expired"):
            return Finish(status, None, self.script.error or DEFAULT_ERROR)
        return Finish(status, answer, self.script.error)


def scripted_charts(context: TurnContext, count: int) -> tuple[ChartSpec, ...]:
    """`count` charts for a scripted message: the conversation's numbers, else a small sample series."""
    tables = [t for t in (parse_table(f.name, f.data) for f in context.files) if t is not None]
    base = chart_for(context, tables) or ChartSpec(
        title="Sample series",
        labels=("A", "B", "C"),
        values=(3.0, 5.0, 2.0),
        ylabel="Value",
        filename="chart.png",
    )
    stem = base.filename.removesuffix(".png")
    return tuple(
        ChartSpec(
            base.title,
            base.labels,
            base.values,
            base.ylabel,
            base.kind,
            f"{stem}_{i + 1}.png" if count > 1 else base.filename,
        )
        for i in range(count)
    )


def estimate_tokens(text: str) -> int:
    """A deterministic token count (about four characters per token)."""
    return max(1, len(text) // 4)
