"""Assistants as configuration: TOML files and their data; `catalog` loads them."""
