"""Benchmark: the ERP webhook of a running ``zelo api`` (``--workers`` uvicorn processes) on PostgreSQL, driven by wrk
from a separate process with pre-signed requests.

1. single-shipment webhooks, each creating a new shipment, at ``--connections`` (throughput) and at
   ``--latency-connections`` (latency): requests/s and p50/p99;
2. the same requests against a bare app that only verifies the signature (the framework's ceiling, the same-run
   reference), at both concurrencies;
3. batches of 500 shipments: shipments/s.
Afterwards it checks that every acknowledged shipment is in the database. It prints the references and the ratios
to them (batch shipments/s and single webhooks/s over the bare app's requests/s at ``--connections``), then one JSON
object as its last line.
Each request file is sized for a rate above the targets (``SINGLE_PER_S``, ``BATCH_PER_S``): wrk starts over at
the top when it runs out, and those replays (answered from the stored receipt, no work) are not counted in the
rates; ``*_replays`` says how many there were.

Throughput is measured with enough connections to saturate both apps (128): a webhook is answered only once its
group commit is durable, so with few connections the app waits on commits with CPU to spare (throughput =
connections / latency) while the bare app is already CPU-bound. Latency is measured where the bare app is not
saturated, at ``--latency-connections`` (4 by default, 2 a process): on 2 cores the bare app is CPU-bound from a
few connections on (at 16 it answered 113% of its rate at 128, on 2026-12-02), so a p99 at 16 or more is mostly a
queue behind the CPU, in either app. ``bare_latency_share`` (the bare app's rate there over its rate at
``--connections``) says whether the chosen concurrency left it unsaturated: well below 1 means it did.

    python -m bench.ingest [--seconds 15] [--connections 128] [--latency-connections 4] [--workers 2]
"""

import argparse
import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.support import free_port, pg_database, start_server
from carriers.correios.s10 import make_code
from tracker.config import Settings
from tracker.db import make_engine
from tracker.migrate import upgrade
from tracker.models import Shipment
from tracker.polling.accounts import add_account
from tracker.runtime import open_runtime
from tracker.signatures import sign

HERE = Path(__file__).resolve().parent
SECRET = b"bench-secret-0123456789abcdef"
WHSEC = "whsec_" + base64.b64encode(SECRET).decode()
SINGLE_PER_S = 15_000  # requests generated per second of run: more than the server answers
BATCH_PER_S = 100  # 50,000 shipments/s
LATENCY_PER_S = 5_000  # requests per second of the latency run (fewer connections, a lower rate)


async def fresh_database(name: str) -> str:
    url = await pg_database(name)
    async with open_runtime(Settings(database_url=url)) as rt:
        await upgrade(rt.engine)
        async with rt.sessions() as session, session.begin():
            await add_account(
                session,
                rt.vault,
                carrier="correios",
                name="bench",
                base_url=None,
                now=rt.clock.now(),
                credentials={"user": "u", "access_code": "c", "posting_card": "1"},
            )
    return url


def shipment(serial: int) -> dict[str, Any]:
    return {
        "external_id": f"ERP-{serial}",
        "carrier": "correios",
        "tracking_code": make_code("SS", serial),
        "service": "SEDEX",
        "order_number": str(serial),
        "shipped_at": "2026-11-20T10:00:00-03:00",
        "promised_delivery_date": "2026-11-27",
        "declared_value": "149.90",
        "customer": {
            "name": "Cliente Teste",
            "email": f"cliente{serial}@example.com",
            "phone": "+5511987654321",
            "consent": True,
        },
        "destination": {"postal_code": "01310-100", "city": "São Paulo", "state": "SP"},
        "items": [{"sku": "SKU-1", "quantity": 1, "description": "Produto"}],
    }


def write_requests(path: Path, first_serial: int, count: int, per_request: int) -> int:
    """Pre-signed requests, each a new webhook-id with new shipments; returns the next free serial."""
    stamp = int(time.time())
    serial = first_serial
    with path.open("w") as f:
        for n in range(count):
            shipments = [shipment(serial + k) for k in range(per_request)]
            serial += per_request
            body = json.dumps({"type": "shipment.upsert", "data": {"shipments": shipments}}, ensure_ascii=False)
            msg_id = f"bench_{first_serial}_{n}"
            f.write(f"{msg_id}\t{stamp}\t{sign(SECRET, msg_id, stamp, body.encode())}\t{body}\n")
    return serial


def wrk(port: int, requests_file: Path, seconds: int, connections: int, distinct: int = 0) -> dict[str, Any]:
    """wrk's figures; with ``distinct`` (the file's request count), ``rps`` counts each request once."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(HERE / "ingest.lua"),
            f"http://127.0.0.1:{port}/v1/webhooks/erp",
        ],
        env=os.environ | {"ZELO_BENCH_REQUESTS": str(requests_file)},
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["replays"] = max(0, figures["requests"] - distinct) if distinct else 0
    figures["rps"] = (figures["requests"] - figures["replays"]) / (figures["duration_us"] / 1e6)
    return dict(figures)


async def stored(url: str) -> int:
    engine = make_engine(url)
    async with engine.connect() as conn:
        n = await conn.scalar(select(func.count()).select_from(Shipment))
    await engine.dispose()
    return int(n or 0)


def run(
    target: str,
    port: int,
    env: dict[str, str],
    requests_file: Path,
    seconds: int,
    connections: int,
    workers: int,
    distinct: int = 0,
) -> dict[str, Any]:
    proc = start_server(target, port, env, workers, timeout_s=120)
    try:
        return wrk(port, requests_file, seconds, connections, distinct)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main(seconds: int, connections: int, latency_connections: int, workers: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    load_before = os.getloadavg()
    url = asyncio.run(fresh_database("zelo_bench_ingest"))
    env = {
        "ZELO_DATABASE_URL": url,
        "ZELO_ERP_WEBHOOK_SECRETS": WHSEC,
        "ZELO_LOG_LEVEL": "warning",
        "ZELO_BENCH_SECRET": base64.b64encode(SECRET).decode(),
    }
    app, bare_app = "zelo.app:app_from_env", "bench.bare_app:app"
    with tempfile.TemporaryDirectory() as tmp:
        singles, slow, batches = Path(tmp) / "single.tsv", Path(tmp) / "latency.tsv", Path(tmp) / "batch.tsv"
        n_single, n_slow, n_batch = SINGLE_PER_S * seconds, LATENCY_PER_S * seconds, BATCH_PER_S * seconds
        serial = write_requests(singles, 1, n_single, 1)
        serial = write_requests(slow, serial, n_slow, 1)
        write_requests(batches, serial, n_batch, 500)
        zelo = run(app, free_port(), env, singles, seconds, connections, workers, n_single)
        rows_after_single = asyncio.run(stored(url))
        zelo_slow = run(app, free_port(), env, slow, seconds, latency_connections, workers, n_slow)
        rows_after_slow = asyncio.run(stored(url))
        bare = run(bare_app, free_port(), env, singles, seconds, connections, workers)
        bare_slow = run(bare_app, free_port(), env, slow, seconds, latency_connections, workers)
        batch = run(app, free_port(), env, batches, seconds, 4, workers, n_batch)
        rows_after_batch = asyncio.run(stored(url))
    acknowledged = zelo["requests"] - zelo["replays"] - zelo["non_2xx"]
    batch_per_s = batch["rps"] * 500
    result = {
        "single_rps": round(zelo["rps"]),
        "single_p50_ms": round(zelo["p50_us"] / 1000, 1),
        "single_p99_ms": round(zelo["p99_us"] / 1000, 1),
        "single_non_2xx": zelo["non_2xx"],
        "single_acknowledged": acknowledged,
        "single_stored": rows_after_single,
        "single_replays": zelo["replays"],
        "bare_rps": round(bare["rps"]),
        "bare_p99_ms": round(bare["p99_us"] / 1000, 1),
        "ratio_to_bare": round(zelo["rps"] / bare["rps"], 2),
        "single_to_bare": round(zelo["rps"] / bare["rps"], 2),
        "batch_shipments_per_s": round(batch_per_s),
        "batch_to_bare": round(batch_per_s / bare["rps"], 2),
        "batch_p99_ms": round(batch["p99_us"] / 1000, 1),
        "batch_stored": rows_after_batch - rows_after_slow,
        "batch_acknowledged_shipments": (batch["requests"] - batch["replays"] - batch["non_2xx"]) * 500,
        "batch_replays": batch["replays"],
        "latency_connections": latency_connections,
        "single_latency_rps": round(zelo_slow["rps"]),
        "single_latency_p50_ms": round(zelo_slow["p50_us"] / 1000, 1),
        "single_latency_p99_ms": round(zelo_slow["p99_us"] / 1000, 1),
        "single_latency_non_2xx": zelo_slow["non_2xx"],
        "single_latency_stored": rows_after_slow - rows_after_single,
        "single_latency_acknowledged": zelo_slow["requests"] - zelo_slow["replays"] - zelo_slow["non_2xx"],
        "bare_latency_rps": round(bare_slow["rps"]),
        "bare_latency_p99_ms": round(bare_slow["p99_us"] / 1000, 1),
        "bare_latency_share": round(bare_slow["rps"] / bare["rps"], 2),
        "connections": connections,
        "workers": workers,
        "seconds": seconds,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return result


def summary(r: dict[str, Any]) -> str:
    """The same-run references and the ratios to them, for people (the JSON line follows)."""
    return "\n".join(
        (
            f"reference: bare app {r['bare_rps']:,} req/s at {r['connections']} connections "
            f"(p99 {r['bare_p99_ms']} ms); at {r['latency_connections']} connections {r['bare_latency_rps']:,} req/s, "
            f"p99 {r['bare_latency_p99_ms']} ms ({r['bare_latency_share']:.0%} of its saturated rate)",
            f"batches:  {r['batch_shipments_per_s']:,} shipments/s = {r['batch_to_bare']}x the bare app (target 1.5x)",
            f"singles:  {r['single_rps']:,} webhooks/s at {r['connections']} connections = {r['single_to_bare']}x "
            f"the bare app (target 0.3x), p99 {r['single_p99_ms']} ms",
            f"latency:  at {r['latency_connections']} connections {r['single_latency_rps']:,} webhooks/s, "
            f"p50 {r['single_latency_p50_ms']} ms, p99 {r['single_latency_p99_ms']} ms (target < 100 ms)",
            f"machine:  load average {r['load_before']} before, {r['load_after']} after, {r['workers']} workers",
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=128, help="wrk connections of the throughput runs")
    parser.add_argument(
        "--latency-connections", type=int, default=4, help="wrk connections of the latency runs (bare app unsaturated)"
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes, for zelo and the bare app alike")
    args = parser.parse_args()
    figures = main(args.seconds, args.connections, args.latency_connections, args.workers)
    print(summary(figures))
    print(json.dumps(figures))
