"""Run the sandbox over real sockets: in the current event loop (:func:`serve`) or as a child process.

``serve`` is for tests and the demo (same process, shared :class:`SandboxState`); ``spawn`` +
``wait_ready`` are for the benchmark, which wants the server off its own event loop.
"""

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Generator
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_PATH = "/_sandbox/stats"


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host process (pytest, the demo CLI)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serve(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, startup_timeout: float = 10.0
) -> AsyncIterator[str]:
    """Serve ``app`` on ``host:port`` (0: any free port) as a task; yield the base URL; stop on exit."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", ws="none")
    server = _EmbeddedServer(config)

    async def run() -> None:
        try:
            await server.serve()
        except SystemExit as exc:  # uvicorn exits the process when it cannot bind: make it an error here
            raise RuntimeError(f"sandbox server could not start on {host}:{port} (see the log above)") from exc

    task = asyncio.create_task(run(), name=f"sandbox-server-{host}:{port}")
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if task.done():
            await task  # raises the startup error
            raise RuntimeError(f"sandbox server on {host}:{port} stopped before it started")
        if time.monotonic() > deadline:
            server.should_exit = True
            await task
            raise TimeoutError(f"sandbox server on {host}:{port} did not start within {startup_timeout} s")
        await asyncio.sleep(0.005)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{_url_host(host)}:{bound}"
    finally:
        server.should_exit = True
        await task


def spawn(port: int, *, host: str = "127.0.0.1", start: datetime | None = None) -> subprocess.Popen[bytes]:
    """Start ``python -m carriers.sandbox`` on ``host:port`` in its own process; see :func:`wait_ready`."""
    args = [sys.executable, "-m", "carriers.sandbox", "--host", host, "--port", str(port)]
    if start is not None:
        args += ["--start", start.isoformat()]
    return subprocess.Popen(args, cwd=PROJECT_ROOT)  # noqa: S603 - our own interpreter and module


def wait_ready(base_url: str, timeout: float = 10.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until the sandbox at ``base_url`` answers; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"sandbox process exited with code {process.returncode} before it was ready")
        try:
            if httpx.get(base_url.rstrip("/") + READY_PATH, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"sandbox at {base_url} not ready after {timeout} s")
        time.sleep(0.05)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
