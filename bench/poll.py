"""Benchmark: the whole poll pipeline (HTTP to the sandbox in its own process, parse, store, status update).

Runs on PostgreSQL and on SQLite. For each backend it loads N shipments, then a poller in a separate
process (so its peak RSS is its own) polls them all twice: once on first sight (every event new) and once
two simulated days later (some changed, most not). The same run measures a naive poller (one code per
request, one commit per shipment) on a sample and prints the ratio. A mixed run on PostgreSQL then spreads the
shipments over the polled carriers (Correios, Jadlog, Total Express: each its own account, the sandbox speaking
each one's API), polls them the same two times, then once more per carrier alone (its shipments per second).
The accounts' rate limits are lifted for it (the sandbox has none): it measures Zelo, not the carriers' quotas.
Each run prints its figures beside its same-run references (the naive poller's rate and the ratio, CPU µs per
shipment update, statements per chunk, the poller's peak RSS after polling half the shipments and all of them:
flat when memory does not grow with the shipments), then the same as JSON. The last line is one JSON object.

    python -m bench.poll [--shipments 20000] [--naive 500] [--runs postgres,sqlite,mixed]
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.support import free_port, pg_database
from carriers.correios.parse import parse
from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, scenario_names
from carriers.sandbox import server as sandbox_server
from carriers.sandbox.accounts import tracking_code
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.db import make_engine
from tracker.migrate import upgrade
from tracker.models import Shipment, TrackingEvent
from tracker.polling import poller_of
from tracker.runtime import freeze_startup_heap
from zelo.demo_carriers import track_parcels
from zelo.features import open_runtime

T0 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
POSTED_SPREAD_H = 24 * 6  # parcels posted over the 6 days before the first poll
FIRST_POLL = T0 + timedelta(days=6)
SECOND_POLL = FIRST_POLL + timedelta(days=2)
PER_CARRIER_POLL = SECOND_POLL + timedelta(days=1)
SCENARIOS = [s for s in scenario_names() if s not in ("not_found", "invalid")]
MIXED = ("correios", "jadlog", "totalexpress")  # the carriers Zelo polls (Loggi and Melhor Envio push)
BATCH = "tracking_code NOT LIKE 'NB%'"  # every shipment but the naive poller's sample
HALF = "id % 2 = 0"  # the half of them the first sight polls second
CHUNK = 1000  # shipments claimed per chunk
RUNS = ("postgres", "sqlite", "mixed")


async def setup(url: str, sandbox: str, n: int, naive: int, carriers: tuple[str, ...] = ("correios",)) -> None:
    """Schema, an account per carrier on the sandbox, N + naive shipments (the N dealt among ``carriers``; the naive
    sample is Correios') registered here and in the sandbox."""
    settings = Settings(database_url=url)
    async with open_runtime(settings, SimulatedClock(T0)) as rt, httpx.AsyncClient(base_url=sandbox) as http:
        await upgrade(rt.engine)
        parcels = [
            Parcel(
                make_code("NB", i) if i >= n else _code(carriers[i % len(carriers)], i),
                SCENARIOS[i % len(SCENARIOS)],
                T0 + timedelta(hours=(i * 7919) % POSTED_SPREAD_H),
                "correios" if i >= n else carriers[i % len(carriers)],
            )
            for i in range(n + naive)
        ]
        async with rt.sessions() as session, session.begin():
            await track_parcels(session, rt.vault, name="bench", base_url=sandbox, parcels=parcels, now=T0)
        async with rt.engine.begin() as conn:
            await conn.execute(text("UPDATE carrier_accounts SET requests_per_second = 10000"))
        wire = [
            {"code": p.code, "scenario": p.scenario, "start": p.start.isoformat(), "carrier": p.carrier}
            for p in parcels
        ]
        for i in range(0, len(parcels), 5000):
            (await http.post("/_sandbox/parcels", json={"parcels": wire[i : i + 5000]})).raise_for_status()
        # the naive sample must not be polled by the batch poller
        async with rt.engine.begin() as conn:
            await conn.execute(text("UPDATE shipments SET next_poll_at = NULL WHERE tracking_code LIKE 'NB%'"))


def _code(carrier: str, i: int) -> str:
    return make_code("SS", i) if carrier == "correios" else tracking_code(carrier, i)


async def set_sandbox_clock(sandbox: str, when: datetime) -> None:
    async with httpx.AsyncClient(base_url=sandbox) as http:
        (await http.put("/_sandbox/clock", json={"now": when.isoformat()})).raise_for_status()


async def poller_pass(url: str, sandbox: str, when: datetime, due: str | None) -> dict[str, Any]:
    """Runs inside the worker process: one full poll cycle at ``when`` (the sandbox's clock moved there too); ``due``
    (SQL): the shipments made due first."""
    await set_sandbox_clock(sandbox, when)
    settings = Settings(database_url=url, poll_chunk=CHUNK, poll_concurrency=8)
    async with open_runtime(settings, SimulatedClock(when)) as rt:
        freeze_startup_heap(batches=True)  # as a poll process does (``zelo poll``, ``zelo worker``)
        if due is not None:
            async with rt.engine.begin() as conn:
                await conn.execute(text(f"UPDATE shipments SET next_poll_at = :t WHERE {due}"), {"t": when})
        usage0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        report = await poller_of(rt).run_once()
        usage1, elapsed = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - t0
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return {
        "polled": report.polled,
        "changed": report.changed,
        "events": report.events,
        "failed": report.failed,
        "seconds": elapsed,
        "cpu_seconds": cpu,
    }


async def naive_poll(url: str, sandbox: str, when: datetime) -> dict[str, Any]:
    """What a hand-written script does: one code per request, one transaction per shipment, ORM rows."""
    engine = make_engine(url)
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(engine) as session:
        targets = (
            await session.execute(select(Shipment.id, Shipment.tracking_code).where(Shipment.tracking_code.like("NB%")))
        ).all()
    async with httpx.AsyncClient(base_url=sandbox) as http:
        token = (
            await http.post(
                "/token/v1/autentica/cartaopostagem", json={"numero": "0067599079"}, auth=("bench", "bench")
            )
        ).json()["token"]
        t0 = time.perf_counter()
        for shipment_id, code in targets:
            answer = await http.get(
                "/srorastro/v1/objetos",
                params={"codigosObjetos": code, "resultado": "T"},
                headers={"Authorization": f"Bearer {token}"},
            )
            [result] = parse(answer.json())
            async with AsyncSession(engine) as session, session.begin():
                shipment = await session.get(Shipment, shipment_id)
                assert shipment is not None
                for e in result.events:
                    session.add(
                        TrackingEvent(
                            shipment_id=shipment_id,
                            occurred_at=e.occurred_at,
                            code=e.code,
                            status=e.status.value,
                            reason=e.reason,
                            description=e.description,
                            detail=e.detail,
                            location=e.location,
                            pickup_deadline=e.pickup_deadline,
                            known_code=e.known_code,
                            voided=e.voided,
                            raw=e.raw,
                            recorded_at=when,
                        )
                    )
                shipment.status = result.status.value
                shipment.last_polled_at = when
        elapsed = time.perf_counter() - t0
    await engine.dispose()
    return {"shipments": len(targets), "seconds": elapsed, "shipments_per_s": len(targets) / elapsed}


def worker_main(url: str, sandbox: str, carriers: tuple[str, ...]) -> None:
    statements = _count_statements()
    # the first sight in two halves, to show the peak RSS after polling half the shipments and all of them
    asyncio.run(_hold_back(url, f"{BATCH} AND {HALF}"))
    half = asyncio.run(poller_pass(url, sandbox, FIRST_POLL, due=None))
    rss_half = _peak_rss_mb()
    rest = asyncio.run(poller_pass(url, sandbox, FIRST_POLL, due=f"{BATCH} AND {HALF}"))
    first = {k: half[k] + rest[k] for k in half}
    rss_first = _peak_rss_mb()
    second = asyncio.run(poller_pass(url, sandbox, SECOND_POLL, due=BATCH))
    rss_mb = _peak_rss_mb()
    polled = first["polled"] + second["polled"]
    chunks, sent = sum(-(-p["polled"] // CHUNK) for p in (half, rest, second)), statements[0]
    alone = {}
    if len(carriers) > 1:  # each carrier by itself, a day later (mostly unchanged, as a steady day is)
        for carrier in carriers:
            alone[carrier] = asyncio.run(
                poller_pass(url, sandbox, PER_CARRIER_POLL, due=f"{BATCH} AND carrier = '{carrier}'")
            )
    figures = {
        "first": first,
        "second": second,
        "alone": alone,
        "peak_rss_mb": rss_mb,
        "rss_after_first_mb": rss_first,
        "rss_after_half_mb": rss_half,
        "half_polled": half["polled"],
        "first_polled": first["polled"],
        "statements_per_chunk": round(sent / max(chunks, 1), 1) if polled else None,
    }
    print(json.dumps(figures))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _count_statements() -> list[int]:
    """A counter of the statements this process sends (an executemany counts once: one round trip)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    count = [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def _one(*_: Any) -> None:
        count[0] += 1

    return count


async def _hold_back(url: str, where: str) -> None:
    """Make the shipments matching ``where`` not due (a later pass makes them due again)."""
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f"UPDATE shipments SET next_poll_at = NULL WHERE {where}"))
    await engine.dispose()


def run_worker(url: str, sandbox: str, carriers: tuple[str, ...]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.poll", "--worker", url, sandbox, ",".join(carriers)],
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def bench_backend(
    url: str, sandbox: str, n: int, naive: int, carriers: tuple[str, ...] = ("correios",)
) -> dict[str, Any]:
    await setup(url, sandbox, n, naive, carriers)
    passes = run_worker(url, sandbox, carriers)
    naive_figures = await naive_poll(url, sandbox, FIRST_POLL)
    first, second = passes["first"], passes["second"]
    polled = first["polled"] + second["polled"]
    seconds = first["seconds"] + second["seconds"]
    rate = polled / seconds
    return {
        "shipments_per_s": round(rate),
        "first_pass_per_s": round(first["polled"] / first["seconds"]),
        "second_pass_per_s": round(second["polled"] / second["seconds"]),
        "events_written": first["events"] + second["events"],
        "failed": first["failed"] + second["failed"],
        "cpu_us_per_update": round(1e6 * (first["cpu_seconds"] + second["cpu_seconds"]) / polled),
        "peak_rss_mb": round(passes["peak_rss_mb"], 1),
        "rss_after_first_pass_mb": round(passes["rss_after_first_mb"], 1),
        "rss_by_shipments_polled_mb": {
            str(passes["half_polled"]): round(passes["rss_after_half_mb"], 1),
            str(passes["first_polled"]): round(passes["rss_after_first_mb"], 1),
        },
        "statements_per_chunk": passes["statements_per_chunk"],
        "naive_shipments_per_s": round(naive_figures["shipments_per_s"], 1),
        "naive_ratio": round(rate / naive_figures["shipments_per_s"], 1),
        "per_carrier_shipments_per_s": {c: round(a["polled"] / a["seconds"]) for c, a in passes["alone"].items()},
    }


async def main(n: int, naive: int, runs: tuple[str, ...] = RUNS) -> dict[str, Any]:
    port = free_port()
    sandbox = f"http://127.0.0.1:{port}"
    proc = sandbox_server.spawn(port)
    results: dict[str, Any] = {}
    try:
        sandbox_server.wait_ready(sandbox, timeout=30)
        if "postgres" in runs:
            results["postgres"] = await bench_backend(await pg_database("zelo_bench"), sandbox, n, naive)
            report("postgres", results["postgres"])
        if "sqlite" in runs:
            with tempfile.TemporaryDirectory() as tmp:
                results["sqlite"] = await bench_backend(f"sqlite+aiosqlite:///{tmp}/bench.db", sandbox, n, naive)
            report("sqlite", results["sqlite"])
        if "mixed" in runs:
            results["mixed"] = await bench_backend(await pg_database("zelo_bench_mixed"), sandbox, n, naive, MIXED)
            report("mixed", results["mixed"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    pg, lite, mixed = (results.get(k, {}) for k in RUNS)
    return {
        "shipments": n,
        "postgres_shipments_per_s": pg.get("shipments_per_s"),
        "sqlite_shipments_per_s": lite.get("shipments_per_s"),
        "naive_ratio": pg.get("naive_ratio"),
        "sqlite_naive_ratio": lite.get("naive_ratio"),
        "cpu_us_per_update": pg.get("cpu_us_per_update"),
        "sqlite_cpu_us_per_update": lite.get("cpu_us_per_update"),
        "peak_rss_mb": pg.get("peak_rss_mb"),
        "sqlite_peak_rss_mb": lite.get("peak_rss_mb"),
        "mixed_shipments_per_s": mixed.get("shipments_per_s"),
        "mixed_cpu_us_per_update": mixed.get("cpu_us_per_update"),
        "mixed_per_carrier_shipments_per_s": mixed.get("per_carrier_shipments_per_s"),
        "naive_shipments_per_s": pg.get("naive_shipments_per_s"),
        "rss_by_shipments_polled_mb": pg.get("rss_by_shipments_polled_mb"),
        "statements_per_chunk": pg.get("statements_per_chunk"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **results,
    }


def report(name: str, r: dict[str, Any]) -> None:
    """One run's figures beside its same-run references, for a person; then the same as JSON."""
    rss = ", ".join(f"{mb:.1f} MB after {int(k):,}" for k, mb in r["rss_by_shipments_polled_mb"].items())
    print(
        f"{name}: {r['shipments_per_s']:,} shipments/s; naive poller {r['naive_shipments_per_s']:,}/s in the same run "
        f"(ratio {r['naive_ratio']}x); {r['cpu_us_per_update']} µs CPU per shipment update; "
        f"{r['statements_per_chunk']} statements per chunk of {CHUNK}; peak RSS {r['peak_rss_mb']} MB "
        f"(shipments polled: {rss})",
        flush=True,
    )
    print(name, json.dumps(r), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3], tuple(sys.argv[4].split(",")))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=500)
    parser.add_argument("--runs", default=",".join(RUNS), help=f"which of {','.join(RUNS)} (default: all)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.shipments, args.naive, tuple(args.runs.split(","))))))
