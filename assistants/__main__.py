"""Manage the assistants' data at the model service: `python -m assistants list|sync|delete [NAME]`.

Reads the app settings from the environment (as the function app does). `sync` uploads what changed;
`delete` removes what this service created for an assistant (per its ledger) and nothing else.
"""

from __future__ import annotations

import argparse
import sys

from assistants.catalog import assistant_names, load_assistant
from backends.factory import get_backend
from core.errors import BackendError
from core.settings import SettingsError, load_settings
from store.tables import open_store


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status says whether it worked."""
    parser = argparse.ArgumentParser(prog="python -m assistants", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("list", "sync", "delete"))
    parser.add_argument("name", nargs="?", help="assistant name (sync: all when omitted)")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name in assistant_names():
            spec = load_assistant(name)
            print(f"{name:14} {spec.display_name}")
        return 0
    try:
        settings = load_settings()
        store = open_store()
    except (SettingsError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    backend = get_backend(settings)
    names = [args.name] if args.name else ([] if args.command == "delete" else assistant_names())
    if not names:
        parser.error("delete needs an assistant name")
    try:
        for name in names:
            if args.command == "sync":
                prepared = backend.prepare(load_assistant(name), store.ledger())
                state = "indexing" if prepared.ingesting else "ready"
                print(f"{name}: {state} ({len(prepared.file_ids)} files, {len(prepared.knowledge_files)} documents)")
            else:
                deleted = backend.forget_assistant(name, store.ledger())
                print(f"{name}: deleted {len(deleted)} objects at the {backend.name} backend")
    except BackendError as exc:
        print(f"error: the model service refused: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
