"""Fixtures shared across areas: an in-process devhost factory and a session-wide Azurite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from devhost.testing import DevHost, run_devhost


@pytest.fixture
def devhost_factory() -> Iterator[Callable[..., DevHost]]:
    """Start devhosts with `devhost_factory(app, **run_devhost_kwargs)`; all are stopped after the test."""
    with ExitStack() as stack:

        def start(app: str = "function_app", **kwargs: Any) -> DevHost:
            return stack.enter_context(run_devhost(app, **kwargs))

        yield start


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """A fresh in-memory Azurite (node_modules/.bin/azurite, from `make install`); yields its connection."""
    from devhost.azurite import start_azurite

    with start_azurite() as connection_string:
        yield connection_string
