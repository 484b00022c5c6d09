"""Small builders shared by the backends for the turn's message content."""

from __future__ import annotations

from typing import Any

from core.records import ImageContent, TextContent
from core.routes import file_url

__all__ = ["content_type", "file_url", "image", "text"]


def text(value: str, annotations: list[dict[str, Any]] | None = None) -> TextContent:
    """A text part."""
    return TextContent(text=value, annotations=annotations or [])


def image(file_id: str) -> ImageContent:
    """An image part that downloads from this service."""
    return ImageContent(file_id=file_id, url=file_url(file_id))


def content_type(filename: str, data: bytes) -> str:
    """What to serve a file as: PNG by its signature, else by its extension."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    kinds = {".csv": "text/csv", ".md": "text/markdown", ".txt": "text/plain", ".pdf": "application/pdf",
             ".json": "application/json"}
    return next((v for k, v in kinds.items() if filename.lower().endswith(k)), "application/octet-stream")
