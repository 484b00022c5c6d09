"""How the demo words the orchestration's custom status while a turn runs."""

from __future__ import annotations

from demo.printer import describe


def test_a_running_turn_reads_as_its_phase_and_details() -> None:
    """Phase first, then each detail; a list of tools is counted by name."""
    status = {"conversation_id": "c1", "turn": 2, "phase": "tools",
              "tools_in_flight": ["get_stock_price", "get_stock_price", "send_email"]}
    assert describe(status, 2) == "tools · tools in flight get_stock_price ×2, send_email"
    polling = {"conversation_id": "c1", "turn": 2, "phase": "polling", "run_status": "in_progress", "polls": 1}
    assert describe(polling, 2) == "polling · run status in_progress · polls 1"


def test_a_turn_not_picked_up_yet_is_queued() -> None:
    """No status, or the status of the previous turn, means the turn waits its turn."""
    assert describe(None, 1) == "queued"
    assert describe({"conversation_id": "c1", "phase": "idle", "turn": 1}, 2) == "queued"


def test_the_idle_conversation_after_the_turn_shows_nothing() -> None:
    """Idle after this very turn: the turn is over, there is no progress to show."""
    assert describe({"conversation_id": "c1", "phase": "idle", "turn": 2}, 2) is None
