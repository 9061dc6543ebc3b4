"""``python -m carriers.sandbox [--host H] [--port N] [--start ISO]``: the sandbox as a standalone server."""

import argparse
from datetime import datetime

import uvicorn

from carriers.sandbox.app import create_app
from carriers.sandbox.state import SandboxClock, SandboxState


def iso_datetime(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    if when.utcoffset() is None:
        raise ValueError("needs an offset")
    return when


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m carriers.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--start", type=iso_datetime, help="clock start, ISO-8601 with an offset (default: now)")
    args = parser.parse_args(argv)
    app = create_app(SandboxState(SandboxClock(args.start)))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="off", ws="none")


if __name__ == "__main__":
    main()
