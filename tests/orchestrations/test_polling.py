"""The poll interval policy: quick at first, growing with the run, bounded, and honouring the service's hint."""

from __future__ import annotations

from core.records import TurnConfig
from orchestrations.polling import next_poll_delay

CONFIG = TurnConfig(poll_min_seconds=1, poll_max_seconds=15)


def test_first_polls_use_the_minimum() -> None:
    """Right after a run starts, the wait is POLL_MIN_SECONDS."""
    assert next_poll_delay(0, None, CONFIG) == 1


def test_wait_grows_with_elapsed_time_within_the_detection_budget() -> None:
    """The wait stays within 1 s + 10 % of the time already elapsed, so detection delay stays bounded."""
    for elapsed in (0, 5, 30, 100):
        assert next_poll_delay(elapsed, None, CONFIG) <= 1 + 0.1 * elapsed + 1e-9
    assert next_poll_delay(30, None, CONFIG) > next_poll_delay(5, None, CONFIG)


def test_wait_is_capped_by_the_maximum() -> None:
    """A very long run is polled every POLL_MAX_SECONDS."""
    assert next_poll_delay(10_000, None, CONFIG) == 15


def test_poll_after_hint_is_honoured_within_bounds() -> None:
    """`openai-poll-after-ms` lengthens the wait, but never past POLL_MAX_SECONDS."""
    assert next_poll_delay(0, 4_000, CONFIG) == 4
    assert next_poll_delay(0, 60_000, CONFIG) == 15
