"""Activity functions: the side effects (model calls, tool calls, webhooks) the orchestrations schedule."""
