"""Profile the poll pipeline: ``bench.poll``'s PostgreSQL set-up, then its worker (the poller's two passes) run
under a profiler given as the command's prefix, so the profile is of the poller process alone (a profiler
following ``bench.poll``'s subprocesses loses it). Prints the worker's figures, as ``bench.poll --worker`` does.

    python -m bench.poll_profile [--shipments 10000] -- py-spy record -r 250 -f raw -o poll.txt --
"""

import argparse
import asyncio
import subprocess
import sys

from bench.poll import setup
from bench.support import ROOT, free_port, pg_database
from carriers.sandbox import server as sandbox_server


async def prepare(n: int, sandbox: str) -> str:
    url = await pg_database("zelo_bench_profile")
    await setup(url, sandbox, n, 0)
    return url


def main(n: int, prefix: list[str]) -> None:
    port = free_port()
    sandbox = f"http://127.0.0.1:{port}"
    proc = sandbox_server.spawn(port)
    try:
        sandbox_server.wait_ready(sandbox, timeout=30)
        url = asyncio.run(prepare(n, sandbox))
        worker = [sys.executable, "-m", "bench.poll", "--worker", url, sandbox, "correios"]
        subprocess.run([*prefix, *worker], check=True, cwd=ROOT)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=10_000)
    parser.add_argument("prefix", nargs="*", help="the profiler's command, ending where the worker's begins")
    args = parser.parse_args()
    main(args.shipments, args.prefix)
