"""Limits enforced on requests before the model is called."""

from __future__ import annotations

MAX_MESSAGE_CHARS = 32_768
MAX_ATTACHMENTS = 10  # per message, as the Assistants API allows
MAX_ATTACHMENT_BYTES = 8 * 1024 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_WAIT_SECONDS = 60
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512
# Conversation ids become Durable instance ids and Table keys: a conservative alphabet.
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
MAX_TURN = 999_999_999
FILE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
# How often a 202 asks the caller to poll.
RETRY_AFTER_SECONDS = 2
