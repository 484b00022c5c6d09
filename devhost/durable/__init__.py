"""The Durable Functions part of devhost: history, engine, state store and the Durable HTTP API."""
