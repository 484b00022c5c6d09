"""Durable storage outside the orchestration: the conversation store (Azure Table storage)."""
