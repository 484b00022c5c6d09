"""Tools the model may call. Importing this package registers the built-in tools in REGISTRY."""

from tools import email, stocks
from tools.registry import REGISTRY

__all__ = ["REGISTRY", "email", "stocks"]
