"""Side effects: model calls, tool calls, the conversation store, deliveries. Each runs at least once."""
