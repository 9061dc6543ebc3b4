"""The server bounds a request's head (request line and headers): httptools, which uvicorn uses, has no bound
of its own, so a 10 MB header was read whole. Past the bound: 431 with a problem document, and the connection
is closed. Tested over real sockets on 127.0.0.1: the protocol in a thread, and ``zelo api`` as a process."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.support import running
from tracker.server import MAX_HEAD_BYTES, BoundedHttpTools

ROOT = Path(__file__).resolve().parents[2]


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app: answers 200 with the size of the body it read."""
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    text = str(size).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": text})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    config = uvicorn.Config(echo, host="127.0.0.1", port=0, http=BoundedHttpTools, log_level="error", lifespan="off")
    with running(config) as bound:
        yield bound


def exchange(port: int, *chunks: bytes) -> bytes:
    """Send ``chunks`` (one write each) and read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused and closed while we were still sending
        sock.settimeout(1)
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except (TimeoutError, ConnectionResetError):
            pass
    return received


def request(headers: bytes = b"", body: bytes = b"", *, close: bool = True) -> bytes:
    head = b"POST /echo HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: " + str(len(body)).encode() + b"\r\n"
    return head + headers + (b"connection: close\r\n" if close else b"") + b"\r\n" + body


def assert_refused(answer: bytes) -> None:
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head and b"connection: close" in head
    problem = json.loads(body)
    assert problem["status"] == 431 and problem["errors"][0]["field"] == "(headers)"
    assert f"at most {MAX_HEAD_BYTES} bytes" in problem["errors"][0]["message"]


def test_a_head_past_the_bound_is_refused_with_431_even_sent_in_small_pieces(port: int) -> None:
    big = b"x-big: " + b"a" * MAX_HEAD_BYTES + b"\r\n"
    assert_refused(exchange(port, request(big)))
    pieces = [request()[:30]] + [b"a" * 1000] * (MAX_HEAD_BYTES // 1000 + 2)  # one header value, never ending
    assert_refused(exchange(port, *pieces))


def test_many_small_headers_count_together(port: int) -> None:
    many = b"".join(b"x-h%d: %s\r\n" % (i, b"v" * 90) for i in range(MAX_HEAD_BYTES // 100 + 10))
    assert_refused(exchange(port, request(many)))


def test_a_head_within_the_bound_and_a_large_body_are_served(port: int) -> None:
    near = b"x-near: " + b"a" * (MAX_HEAD_BYTES - 200) + b"\r\n"
    assert exchange(port, request(near)).startswith(b"HTTP/1.1 200 ")
    body = b"b" * 1_000_000  # the body is not the head: its bound is the app's (ZELO_MAX_BODY_BYTES)
    answer = exchange(port, request(body=body))
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"1000000")


def test_pipelined_requests_each_get_their_own_bound(port: int) -> None:
    near = b"x-near: " + b"a" * (MAX_HEAD_BYTES - 200) + b"\r\n"
    first = request(near, b"b" * 100_000, close=False)
    answer = exchange(port, first + request(near, b"c" * 10))
    assert answer.count(b"HTTP/1.1 200 ") == 2, answer[:300]


def test_zelo_api_serves_with_the_bound(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    env = os.environ | {
        "ZELO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'api.db'}",
        "ZELO_SECRET_KEY": "a-test-secret-that-is-not-the-placeholder",
        "ZELO_ENV": "test",
    }
    zelo = str(Path(sys.executable).with_name("zelo"))
    subprocess.run([zelo, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=60)
    cmd = [zelo, "api", "--host", "127.0.0.1", "--port", str(free)]
    log = tmp_path / "api.log"
    with log.open("wb") as out, subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=out) as process:
        try:
            deadline = time.monotonic() + 45  # a busy 2-core machine
            while not exchange_ok(free):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "zelo api did not start"
                time.sleep(0.2)
            big = b"GET /openapi.json HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * (10 * MAX_HEAD_BYTES) + b"\r\n\r\n"
            assert_refused(exchange(free, big))
        finally:
            process.terminate()
            process.wait(timeout=20)


def exchange_ok(port: int) -> bool:
    try:
        return exchange(port, b"GET /openapi.json HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").startswith(
            b"HTTP/1.1 200 "
        )
    except OSError:
        return False
