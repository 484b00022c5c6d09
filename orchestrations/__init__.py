"""Deterministic workflow: a conversation's turns, polling with durable timers, tool fan-out. No I/O, no SDK clients."""
