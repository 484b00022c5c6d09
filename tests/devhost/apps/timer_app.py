"""Sample app for devhost's timer tests."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp()
RUNS: list[bool] = []


@app.timer_trigger(schedule="0 0 * * * *", arg_name="timer", run_on_startup=True)
def hourly(timer: func.TimerRequest) -> None:
    """Records each run's past-due flag."""
    RUNS.append(timer.past_due)
