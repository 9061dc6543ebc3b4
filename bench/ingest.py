"""Benchmark: the ERP webhook of a running ``zelo api`` (``--workers`` uvicorn processes) on PostgreSQL, driven by wrk
from a separate process with pre-signed requests.

1. single-shipment webhooks, each creating a new shipment: requests/s and p50/p99 latency;
2. the same requests against a bare app that only verifies the signature (the framework's ceiling);
3. batches of 500 shipments: shipments/s.
Afterwards it checks that every acknowledged shipment is in the database. The last line is one JSON object.
Each request file is sized for a rate above the targets (``SINGLE_PER_S``, ``BATCH_PER_S``): wrk starts over at
the top when it runs out, and those replays (answered from the stored receipt, no work) are not counted in the
rates; ``*_replays`` says how many there were.

Both apps are driven by the same number of connections, enough to saturate them: a webhook is answered only
once its group commit is durable, so with few connections the app waits on commits with CPU to spare
(throughput = connections / latency) while the bare app is already CPU-bound.

    python -m bench.ingest [--seconds 15] [--connections 128] [--workers 2]
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
    proc = start_server(target, port, env, workers)
    try:
        return wrk(port, requests_file, seconds, connections, distinct)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main(seconds: int, connections: int, workers: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    url = asyncio.run(fresh_database("zelo_bench_ingest"))
    env = {
        "ZELO_DATABASE_URL": url,
        "ZELO_ERP_WEBHOOK_SECRETS": WHSEC,
        "ZELO_LOG_LEVEL": "warning",
        "ZELO_BENCH_SECRET": base64.b64encode(SECRET).decode(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        singles, batches = Path(tmp) / "single.tsv", Path(tmp) / "batch.tsv"
        n_single, n_batch = SINGLE_PER_S * seconds, BATCH_PER_S * seconds
        serial = write_requests(singles, 1, n_single, 1)
        write_requests(batches, serial, n_batch, 500)
        zelo = run("zelo.app:app_from_env", free_port(), env, singles, seconds, connections, workers, n_single)
        rows_after_single = asyncio.run(stored(url))
        bare = run("bench.bare_app:app", free_port(), env, singles, seconds, connections, workers)
        batch = run("zelo.app:app_from_env", free_port(), env, batches, seconds, 4, workers, n_batch)
        rows_after_batch = asyncio.run(stored(url))
    acknowledged = zelo["requests"] - zelo["replays"] - zelo["non_2xx"]
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
        "batch_shipments_per_s": round(batch["rps"] * 500),
        "batch_p99_ms": round(batch["p99_us"] / 1000, 1),
        "batch_stored": rows_after_batch - rows_after_single,
        "batch_acknowledged_shipments": (batch["requests"] - batch["replays"] - batch["non_2xx"]) * 500,
        "batch_replays": batch["replays"],
        "connections": connections,
        "workers": workers,
        "seconds": seconds,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=128, help="wrk connections, for both apps alike")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes, for zelo and the bare app alike")
    args = parser.parse_args()
    print(json.dumps(main(args.seconds, args.connections, args.workers)))
