"""HTTP route templates as the Functions host reads them: `{id}`, `{id:int}`, `{id?}`, `{*rest}`."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass


class RouteError(ValueError):
    """A route template devhost cannot honour (named in the message)."""


def _is_bool(v: str) -> bool:
    return v.lower() in ("true", "false")


def _is_guid(v: str) -> bool:
    try:
        uuid.UUID(v)
    except ValueError:
        return False
    return True


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


# ASP.NET route constraints the Functions host supports, by name.
_CONSTRAINTS = {
    "int": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**31) <= int(v) < 2**31,
    "long": lambda v: re.fullmatch(r"-?\d+", v) is not None,
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "bool": _is_bool,
    "guid": _is_guid,
    "double": _is_number,
    "float": _is_number,
    "decimal": _is_number,
}
_PARAM = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class _Param:
    name: str
    constraint: str | None
    optional: bool
    catch_all: bool


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template; `match` returns the route parameters or None."""

    template: str
    regex: re.Pattern[str]
    params: tuple[_Param, ...]

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters if `path` (without prefix, no leading slash) matches, else None."""
        m = self.regex.fullmatch(path.strip("/"))
        if m is None:
            return None
        values: dict[str, str] = {}
        for i, param in enumerate(self.params):
            value = m.group(f"p{i}")
            if value is None:
                continue
            if param.constraint is not None and not _CONSTRAINTS[param.constraint](value):
                return None
            values[param.name] = value
        return values

    @property
    def specificity(self) -> tuple[int, int]:
        """Sort key: literal-heavy templates first, catch-alls last (as ASP.NET orders routes)."""
        literal = len(_PARAM.sub("", self.template))
        return (sum(p.catch_all for p in self.params), -literal)


def compile_route(template: str) -> RouteTemplate:
    """Compile a Functions route template; unknown constraints are an error naming them."""
    text = template.strip("/")
    params: list[_Param] = []
    pattern = ""
    pos = 0
    for m in _PARAM.finditer(text):
        pattern += re.escape(text[pos : m.start()])
        pos = m.end()
        spec = m.group(1)
        catch_all = spec.startswith("*")
        spec = spec.lstrip("*")
        optional = spec.endswith("?")
        spec = spec.rstrip("?")
        name, _, constraint = spec.partition(":")
        constraint_name = constraint.split("(")[0] if constraint else None
        if constraint_name is not None and constraint_name not in _CONSTRAINTS:
            raise RouteError(
                f"route {template!r}: constraint {constraint_name!r} is not supported by devhost"
            )
        if not name.isidentifier():
            raise RouteError(f"route {template!r}: bad parameter name {name!r}")
        group = f"p{len(params)}"
        body = r".*" if catch_all else r"[^/]+"
        if (optional or catch_all) and pattern.endswith("/"):
            # `a/{b?}` also matches `a`.
            pattern = pattern[:-1] + f"(?:/(?P<{group}>{body}))?"
        else:
            pattern += f"(?P<{group}>{body})" + ("?" if optional else "")
        params.append(_Param(name, constraint_name, optional, catch_all))
    pattern += re.escape(text[pos:])
    return RouteTemplate(template, re.compile(pattern, re.IGNORECASE), tuple(params))
