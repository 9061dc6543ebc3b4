"""CPU per webhook and per batched shipment of the ERP webhook, in-process: the whole ASGI app (middleware, route,
signature, validation, group commit) driven through its ASGI interface on a real PostgreSQL, with no HTTP server
and no load generator sharing the process. What it measures is the process's CPU time (``time.process_time``), so
a busy machine slows it down without changing the figures much; ``--profile`` prints cProfile's top functions.

    python -m bench.ingest_cpu [--singles 4000] [--batches 40] [--concurrency 16] [--profile]
"""

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from typing import Any

from bench.ingest import SECRET, WHSEC, fresh_database, shipment
from tracker.config import Settings
from tracker.signatures import sign
from zelo.app import create_app


def request(n: int, shipments: list[dict[str, Any]]) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"type": "shipment.upsert", "data": {"shipments": shipments}}, ensure_ascii=False).encode()
    msg_id, stamp = f"cpu_{n}_{shipments[0]['external_id']}", int(time.time())
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"webhook-id", msg_id.encode()),
        (b"webhook-timestamp", str(stamp).encode()),
        (b"webhook-signature", sign(SECRET, msg_id, stamp, body).encode()),
    ]
    return headers, body


async def call(app: Any, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/webhooks/erp",
        "raw_path": b"/v1/webhooks/erp",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def drive(app: Any, requests: list[tuple[list[tuple[bytes, bytes]], bytes]], concurrency: int) -> dict[str, Any]:
    todo = iter(requests)
    statuses: list[int] = []

    async def worker() -> None:
        for headers, body in todo:
            statuses.append(await call(app, headers, body))

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    bad = sum(1 for s in statuses if s != 202)
    return {"requests": len(statuses), "non_202": bad, "cpu_s": cpu, "wall_s": wall}


async def main(singles: int, batches: int, concurrency: int, profile: bool) -> dict[str, Any]:
    url = await fresh_database("zelo_bench_ingest_cpu")
    app = create_app(Settings(database_url=url, erp_webhook_secrets=WHSEC, log_level="warning"))
    serial = 10_000_000
    single = []
    for n in range(singles):
        single.append(request(n, [shipment(serial)]))
        serial += 1
    batch = []
    for n in range(batches):
        batch.append(request(n, [shipment(serial + k) for k in range(500)]))
        serial += 500
    warm = [request(n, [shipment(serial + n)]) for n in range(200)]
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not wall: the machine is shared
    async with app.router.lifespan_context(app):
        await drive(app, warm, concurrency)
        if profiler:
            profiler.enable()
        s = await drive(app, single, concurrency)
        b = await drive(app, batch, 4)
        if profiler:
            profiler.disable()
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(45)
    return {
        "single_cpu_us": round(s["cpu_s"] / s["requests"] * 1e6, 1),
        "single_non_202": s["non_202"],
        "batch_cpu_us_per_shipment": round(b["cpu_s"] / max(1, b["requests"] * 500) * 1e6, 2),
        "batch_cpu_ms_per_batch": round(b["cpu_s"] / max(1, b["requests"]) * 1e3, 1),
        "batch_non_202": b["non_202"],
        "concurrency": concurrency,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=4000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.singles, args.batches, args.concurrency, args.profile))))
