"""Cursor pagination as the API does it: `limit`, `order`, `after`, `before`, `has_more`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .params import Query

T = TypeVar("T")


def page(
    items: Sequence[T], query: Query, key: Callable[[T], str], render: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """One page of `items` (given oldest first) as a list object.

    `first_id`/`last_id` are strings even for an empty page: the API description and the SDK's
    conversation page both declare them as strings.
    """
    ordered = list(items) if query.order == "asc" else list(reversed(items))
    ids = [key(item) for item in ordered]
    start, end = 0, len(ordered)
    if query.after is not None and query.after in ids:
        start = ids.index(query.after) + 1
    if query.before is not None and query.before in ids:
        end = ids.index(query.before)
    window = ordered[start:end]
    chosen = window[: query.limit]
    data = [render(item) for item in chosen]
    return {
        "object": "list",
        "data": data,
        "first_id": key(chosen[0]) if chosen else "",
        "last_id": key(chosen[-1]) if chosen else "",
        "has_more": len(window) > len(chosen),
    }
