"""`python -m emulator [--port 8181] [--api-key KEY]`: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import logging
import os

from aiohttp import web

from .app import AccessLogger, create_app
from .state import EmulatorConfig, EmulatorState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Local Azure OpenAI data plane.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8181, help="port to serve on (default 8181)")
    parser.add_argument(
        "--api-key", default=None, help="accepted API key (default $EMULATOR_API_KEY or emulator-key)"
    )
    parser.add_argument(
        "--polls", type=int, default=1, help="retrieves before a run/response reaches its next state"
    )
    parser.add_argument(
        "--poll-after-ms", type=int, default=100, help="value of the openai-poll-after-ms header"
    )
    parser.add_argument(
        "--ingestion-polls",
        type=int,
        default=1,
        help="reads a file attached to a vector store stays in_progress before it settles",
    )
    parser.add_argument("--strict", action="store_true", help="validate every object sent (slower)")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    if args.polls < 0 or args.poll_after_ms < 0 or args.ingestion_polls < 0:
        parser.error("--polls, --poll-after-ms and --ingestion-polls must be >= 0")

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = EmulatorConfig(
        api_key=args.api_key or os.environ.get("EMULATOR_API_KEY") or "emulator-key",
        polls_before_done=args.polls,
        poll_after_ms=args.poll_after_ms,
        strict=args.strict,
        ingestion_polls=args.ingestion_polls,
    )
    app = create_app(EmulatorState(config))
    print(
        f"emulator: http://{args.host}:{args.port} (Azure routes under /openai, v1 under /openai/v1)",
        flush=True,
    )
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        print=None,
        access_log=None if args.quiet else logging.getLogger("emulator.access"),
        access_log_class=AccessLogger,
    )


if __name__ == "__main__":
    main()
