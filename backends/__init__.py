"""Model adapters: the Responses and Assistants APIs behind one small interface. Nothing of Functions here."""
