"""Typed access to request bodies and queries, with the real service's 400 messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .errors import bad_request

_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    for kind, name in _TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


async def read_json(request: web.Request) -> Body:
    """The request's JSON object body; an empty body is an empty object."""
    raw = await request.read()
    if not raw.strip():
        return Body({})
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            "We could not parse the JSON body of your request. The API expects a JSON payload, "
            "but what was sent was not valid JSON."
        ) from None
    if not isinstance(value, dict):
        raise bad_request(f"Invalid body: expected a JSON object, but got {_type_name(value)} instead.")
    return Body(value)


class Body:
    """A JSON object whose fields are read with type checks; `prefix` names nested params in errors."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _get(self, key: str, kinds: tuple[type, ...], label: str, required: bool) -> Any:
        value = self.data.get(key)
        if value is None:
            if required:
                raise bad_request(f"Missing required parameter: '{self.name(key)}'.", param=self.name(key))
            return None
        # bool is an int subclass in Python, but never a number in JSON.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise bad_request(
                f"Invalid type for '{self.name(key)}': expected {label}, "
                f"but got {_type_name(value)} instead.",
                param=self.name(key),
            )
        return value

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self._get(key, (str,), "a string", required)
        return default if value is None else value

    def boolean(self, key: str, default: bool | None = None) -> Any:
        value = self._get(key, (bool,), "a boolean", False)
        return default if value is None else value

    def integer(self, key: str, default: int | None = None, *, minimum: int | None = None) -> Any:
        value = self._get(key, (int,), "an integer", False)
        if value is None:
            return default
        if minimum is not None and value < minimum:
            raise bad_request(
                f"Invalid '{self.name(key)}': integer below minimum value. Expected a value >= {minimum}, "
                f"but got {value} instead.",
                param=self.name(key),
            )
        return value

    def number(self, key: str, default: float | None = None, *, low: float, high: float) -> Any:
        value = self._get(key, (int, float), "a number", False)
        if value is None:
            return default
        if not low <= value <= high:
            raise bad_request(
                f"Invalid '{self.name(key)}': expected a number between {low} and {high}, "
                f"but got {value} instead.",
                param=self.name(key),
            )
        return float(value)

    def array(self, key: str, *, required: bool = False) -> Any:
        value = self._get(key, (list,), "an array", required)
        return [] if value is None else value

    def object(self, key: str, *, required: bool = False) -> Body | None:
        value = self._get(key, (dict,), "an object", required)
        return None if value is None else Body(value, f"{self.name(key)}.")

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> Any:
        value = self.string(key, default)
        if value is not None and value not in options:
            allowed = ", ".join(f"'{option}'" for option in options)
            raise bad_request(
                f"Invalid value for '{self.name(key)}': expected one of {allowed}, "
                f"but got '{value}' instead.",
                param=self.name(key),
            )
        return value

    def metadata(self, key: str = "metadata") -> dict[str, str] | None:
        value = self._get(key, (dict,), "an object", False)
        if value is None:
            return None
        return check_metadata(value, self.name(key))

    def items(self, key: str) -> list[Body]:
        """An array of objects, each as a Body named `key[i].`."""
        out = []
        for index, item in enumerate(self.array(key)):
            if not isinstance(item, dict):
                raise bad_request(
                    f"Invalid type for '{self.name(key)}[{index}]': expected an object, but got "
                    f"{_type_name(item)} instead.",
                    param=f"{self.name(key)}[{index}]",
                )
            out.append(Body(item, f"{self.name(key)}[{index}]."))
        return out


def check_metadata(value: Mapping[str, Any], param: str = "metadata") -> dict[str, str]:
    """Metadata as the API allows it: at most 16 string pairs, keys ≤ 64 and values ≤ 512 characters."""
    if len(value) > 16:
        raise bad_request(f"Invalid '{param}': too many properties. Expected at most 16.", param=param)
    for key, item in value.items():
        if len(key) > 64:
            raise bad_request(
                f"Invalid '{param}': key '{key[:64]}…' is longer than 64 characters.", param=param
            )
        if not isinstance(item, str):
            raise bad_request(
                f"Invalid type for '{param}.{key}': expected a string, but got {_type_name(item)} instead.",
                param=f"{param}.{key}",
            )
        if len(item) > 512:
            raise bad_request(f"Invalid '{param}.{key}': string too long. Expected at most 512.", param=param)
    return dict(value)


class Query:
    """List parameters (`limit`, `order`, `after`, `before`) of a GET, checked like the service does."""

    def __init__(
        self,
        request: web.Request,
        *,
        default_order: str = "desc",
        default_limit: int = 20,
        max_limit: int = 100,
    ) -> None:
        query = request.query
        raw_limit = query.get("limit", str(default_limit))
        try:
            self.limit = int(raw_limit)
        except ValueError:
            raise bad_request(
                f"Invalid 'limit': expected an integer, but got '{raw_limit}' instead.", param="limit"
            ) from None
        if not 1 <= self.limit <= max_limit:
            raise bad_request(
                f"Invalid 'limit': expected a value between 1 and {max_limit}, but got {self.limit} instead.",
                param="limit",
            )
        self.order = query.get("order", default_order)
        if self.order not in ("asc", "desc"):
            raise bad_request(
                f"Invalid value for 'order': expected one of 'asc', 'desc', but got '{self.order}' instead.",
                param="order",
            )
        self.after = query.get("after") or None
        self.before = query.get("before") or None
        self.values = query
