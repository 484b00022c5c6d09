"""How long to wait before the next poll of a run: short at first, longer as the run goes on."""

from __future__ import annotations

from core.records import TurnConfig

# The wait grows by this share of the time already waited, so a run that ends is seen within
# POLL_MIN_SECONDS + 10 % of its duration, while long runs cost few calls.
GROWTH = 0.1


def next_poll_delay(elapsed_seconds: float, poll_after_ms: int | None, config: TurnConfig) -> float:
    """Seconds to wait before polling again, honouring the service's `openai-poll-after-ms` hint."""
    delay = config.poll_min_seconds + GROWTH * max(0.0, elapsed_seconds)
    if poll_after_ms:
        delay = max(delay, poll_after_ms / 1000)
    return min(max(delay, config.poll_min_seconds), config.poll_max_seconds)


def run_retry_delay(attempt: int) -> float:
    """Backoff before starting a new run after a retryable failure (attempt 1 failed → 2 s, then 4 s, 8 s)."""
    return float(min(60, 2 ** attempt))
