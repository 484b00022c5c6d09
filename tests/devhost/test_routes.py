"""Route templates: parameters, constraints, optional and catch-all segments."""

from __future__ import annotations

import pytest

from devhost.routes import RouteError, compile_route


def test_plain_parameters_match_one_segment_each() -> None:
    """{a}/{b} binds two segments and rejects extra ones."""
    route = compile_route("orders/{a}/items/{b}")
    assert route.match("orders/1/items/x") == {"a": "1", "b": "x"}
    assert route.match("orders/1/items/x/y") is None


def test_matching_ignores_case_of_literals() -> None:
    """Literal segments match case-insensitively, as ASP.NET routing does."""
    assert compile_route("Health").match("health") == {}


@pytest.mark.parametrize(
    ("template", "good", "bad"),
    [
        ("n/{v:int}", "n/-12", "n/1.5"),
        ("n/{v:alpha}", "n/abc", "n/ab1"),
        ("n/{v:bool}", "n/True", "n/yes"),
        ("n/{v:guid}", "n/3f2504e0-4f89-11d3-9a0c-0305e82c3301", "n/nope"),
        ("n/{v:double}", "n/1.5", "n/x"),
    ],
)
def test_constraints_filter_values(template: str, good: str, bad: str) -> None:
    """A constrained parameter matches only values of its type."""
    route = compile_route(template)
    assert route.match(good) is not None
    assert route.match(bad) is None


def test_optional_and_catch_all_segments() -> None:
    """{id?} may be absent; {*rest} takes the remaining path."""
    optional = compile_route("things/{id?}")
    assert optional.match("things") == {}
    assert optional.match("things/7") == {"id": "7"}
    assert compile_route("files/{*rest}").match("files/a/b") == {"rest": "a/b"}


def test_unknown_constraint_is_an_error_naming_it() -> None:
    """A constraint devhost does not know is refused at load time, not ignored."""
    with pytest.raises(RouteError, match="'regex'"):
        compile_route("x/{v:regex(^a$)}")


def test_literal_routes_sort_before_parameterised_ones() -> None:
    """More literal templates are tried first, catch-alls last."""
    routes = sorted(
        [compile_route("{*all}"), compile_route("items/{id}"), compile_route("items/special")],
        key=lambda r: r.specificity,
    )
    assert [r.template for r in routes] == ["items/special", "items/{id}", "{*all}"]
