"""`python -m devhost [--app MODULE] [--port 7071] [--state FILE]`: run the app like `func start`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("devhost")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m devhost",
        description="Run a Functions v2 Python app locally, "
        "with the Durable Functions host protocol, like `func start`.",
    )
    p.add_argument("--app", default="function_app", help="app module to load (default: function_app)")
    p.add_argument(
        "--app-dir",
        type=Path,
        default=Path.cwd(),
        help="directory with the app, host.json and local.settings.json (default: .)",
    )
    p.add_argument("--port", type=int, default=7071, help="HTTP port on 127.0.0.1 (default: 7071)")
    p.add_argument("--state", type=Path, default=None, help="SQLite file for durable state (default: memory)")
    p.add_argument("--clock", choices=("real", "virtual"), default="real", help="timer clock (default: real)")
    p.add_argument(
        "--no-determinism-check",
        action="store_true",
        help="do not compare replayed actions with the recorded history",
    )
    p.add_argument(
        "--function-key",
        default=None,
        help="enforce FUNCTION/ADMIN auth with this key (default: env DEVHOST_FUNCTION_KEY, else off)",
    )
    p.add_argument(
        "--no-emulator",
        action="store_true",
        help="do not start the Azure OpenAI emulator even if no endpoint is set",
    )
    p.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start devhost (and, when needed, the emulator and Azurite) and serve until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from devhost.azurite import DEFAULT_PORTS, AzuriteError, is_listening, launch
    from devhost.config import ConfigError, load_local_settings
    from devhost.emulator import EmulatorError, app_api_key, endpoint_configured, point_app_at, start_emulator
    from devhost.host import DevHost, env_function_key
    from devhost.loader import LoadError

    app_dir = args.app_dir.resolve()
    cleanups: list[Any] = []
    banner: list[str] = []
    try:
        applied = load_local_settings(app_dir)
        if applied:
            log.info("loaded %d setting(s) from local.settings.json", len(applied))
        if not args.no_emulator and not endpoint_configured():
            emulator = start_emulator(cwd=app_dir, api_key=app_api_key())
            cleanups.append(emulator.stop)
            point_app_at(emulator.url)
            log.info("no Azure OpenAI endpoint set: started the emulator at %s", emulator.url)
            banner.append(f"  emulator: {emulator.url} (no AZURE_OPENAI_ENDPOINT set)")
        if any(
            v.strip().lower().rstrip(";") == "usedevelopmentstorage=true" for v in os.environ.values()
        ) and not is_listening(DEFAULT_PORTS["queue"]):
            try:
                azurite = launch(DEFAULT_PORTS)
                cleanups.append(azurite.stop)
                banner.append("  azurite: 127.0.0.1 ports 10000-10002 (UseDevelopmentStorage=true)")
                log.info(
                    "UseDevelopmentStorage=true and nothing listening: started Azurite on ports 10000-10002"
                )
            except AzuriteError as exc:
                log.warning("could not start Azurite (%s); Storage bindings will fail", exc)
        host = DevHost(
            args.app,
            app_dir=app_dir,
            port=args.port,
            clock=args.clock,
            state_path=args.state,
            determinism_check=not args.no_determinism_check,
            function_key=args.function_key or env_function_key(),
        )
        host.start()
        cleanups.append(host.stop)
    except (ConfigError, LoadError, EmulatorError) as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        for cleanup in reversed(cleanups):
            cleanup()
        return 2
    # Handlers first: a caller that reads the banner may interrupt at once.
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(f"devhost: {args.app} on {host.url}/{host.host_config.route_prefix} (Ctrl+C to stop)", flush=True)
    for line in banner:
        print(line, flush=True)
    for spec in sorted(host.http_functions, key=lambda f: f.name):
        assert spec.route is not None
        methods = ",".join(sorted(spec.methods)) if spec.methods else "*"
        print(f"  {spec.name}: [{methods}] {host.url}/{host.host_config.route_prefix}/{spec.route.template}")
    done.wait()
    for cleanup in reversed(cleanups):
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
