"""devhost: runs a Functions v2 Python app locally like `func start` + the Durable extension (see README)."""
