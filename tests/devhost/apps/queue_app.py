"""Sample app for devhost's queue and timer tests."""

from __future__ import annotations

import threading

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

_lock = threading.Lock()
RECEIVED: list[dict[str, object]] = []
ATTEMPTS: dict[str, int] = {}
TICKS: list[bool] = []


@app.queue_trigger(arg_name="msg", queue_name="%INBOX_QUEUE%", connection="DevhostQueues")
@app.queue_output(arg_name="out", queue_name="%OUTBOX_QUEUE%", connection="DevhostQueues")
def inbox(msg: func.QueueMessage, out: func.Out[str]) -> None:
    """Records the message and forwards an answer to the outbox queue."""
    body = msg.get_body().decode("utf-8")
    with _lock:
        RECEIVED.append(
            {
                "body": body,
                "id": msg.id,
                "dequeue_count": msg.dequeue_count,
                "inserted": msg.insertion_time,
                "expires": msg.expiration_time,
                "pop_receipt": msg.pop_receipt,
            }
        )
    out.set(f"handled {body}")


@app.queue_trigger(arg_name="msg", queue_name="%DOOMED_QUEUE%", connection="DevhostQueues")
def always_breaks(msg: func.QueueMessage) -> None:
    """Fails every time (to reach the poison queue)."""
    body = msg.get_body().decode("utf-8")
    with _lock:
        ATTEMPTS[body] = ATTEMPTS.get(body, 0) + 1
    raise RuntimeError(f"cannot handle {body}")


@app.queue_trigger(arg_name="msg", queue_name="%ECHO_IN%", connection="DevhostQueues")
@app.queue_output(arg_name="$return", queue_name="%ECHO_OUT%", connection="DevhostQueues")
def echo(msg: func.QueueMessage) -> str:
    """Returns the message upper-cased into the echo-out queue ($return output binding)."""
    return msg.get_body().decode("utf-8").upper()


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=False)
def yearly(timer: func.TimerRequest) -> None:
    """A yearly timer, run on demand through the admin endpoint."""
    with _lock:
        TICKS.append(timer.past_due)


@app.queue_trigger(arg_name="msg", queue_name="%START_QUEUE%", connection="DevhostQueues")
@app.durable_client_input(client_name="client")
async def starter(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    """Starts an orchestration per queue message (the DESIGN's queue ingress), with the SDK client."""
    body = msg.get_body().decode("utf-8")
    await client.start_new("greet", f"greet-{msg.id}", {"name": body})


@app.orchestration_trigger(context_name="context")
def greet(context: df.DurableOrchestrationContext):
    """Greets the name in its input."""
    return f"hello {context.get_input()['name']}"
