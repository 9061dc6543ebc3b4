"""Benchmark: the detector's time-based sweep over 1,000,000 active shipments on PostgreSQL.

The shipments are generated inside PostgreSQL (one INSERT … SELECT over generate_series): most are
in transit and healthy; 5% have been silent for 5 to 20 days, 5% are past their promise, 3% await pickup
with deadlines over the next ten days, 3% are not posted yet. The sweep runs three times: on the fresh base
(cold: it raises every incident at once), a day later after a day of answered polls in which 95% of the
parcels had a new event (the periodic sweep's biggest wave: thresholds are whole business days, so new
trouble arrives at day boundaries), and once more (nothing new). Peak
RSS is this process's; with ``--rss-at N`` the same is first run over N shipments in a process of its own,
and both peaks are given (flat memory: the same peak at either size).
Same-run reference: every shipment's facts read through one server-side cursor (``scan_rows_per_s``), the rate
the sweep's own reading is bounded by on this machine; ``sweep_shipments_per_s`` is the periodic sweep's rate.
The last line is one JSON object.

    python -m bench.sweep [--shipments 1000000] [--rss-at 250000]
"""

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from bench.support import bench_account, pg_database
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.detector import Detected, Incident, detector_of
from tracker.detector.facts import FACT_COLUMNS, facts_of
from tracker.detector.sweep import PAGE, sweep
from tracker.migrate import upgrade
from tracker.models import shipments_table
from zelo.features import Runtime, open_runtime

NOW = datetime(2026, 11, 12, 14, 0, tzinfo=UTC)  # a Thursday, 11:00 in Brasília
DAY = timedelta(days=1)
STATUSES = ",".join(
    ["in_transit"] * 66
    + ["posted"] * 10
    + ["out_for_delivery"] * 10
    + ["delivery_failed"] * 5
    + ["awaiting_pickup"] * 3
    + ["pending"] * 3
    + ["held"] * 2
    + ["returning"] * 1
)
GENERATE = text(
    """
    INSERT INTO shipments (carrier, carrier_account_id, tracking_code, service, destination_state, created_at,
        updated_at, status, poll_error_count, customer_consent, last_event_at, last_polled_at, next_poll_at,
        original_promise_date, original_promise_source, pickup_deadline)
    SELECT 'correios', p.account, 'BM' || lpad(g::text, 9, '0') || 'BR',
        CASE WHEN g % 3 = 0 THEN 'PAC' ELSE 'SEDEX' END,
        (ARRAY['SP','RJ','MG','PR','RS','BA','PE','AM','SC','GO'])[1 + (g / 7) % 10],
        p.now - make_interval(days => (1 + g % 4)::int), p.now, s.status, 0, false,
        CASE WHEN s.status = 'pending' THEN NULL
             WHEN (g * 7919) % 1000 < 50 THEN p.now - make_interval(days => (5 + g % 15)::int)
             ELSE p.now - make_interval(hours => ((g * 104729) % 60)::int) END,
        p.now - interval '1 hour', p.now + interval '2 hours',
        CASE WHEN (g * 40503) % 1000 < 50 THEN p.today - (2 + g % 8)::int ELSE p.today + (1 + g % 10)::int END,
        'carrier',
        CASE WHEN s.status = 'awaiting_pickup' THEN p.now + make_interval(days => (g % 10)::int) END
    FROM (SELECT CAST(:now AS timestamptz) AS now, CAST(:today AS date) AS today,
                 CAST(:account AS bigint) AS account, string_to_array(:statuses, ',') AS statuses) AS p,
         generate_series(CAST(1 AS bigint), CAST(:n AS bigint)) AS g,
         LATERAL (SELECT p.statuses[1 + (g * 31) % 100] AS status) AS s
    """
)

NEXT_DAY = """
    UPDATE shipments SET last_polled_at = last_polled_at + interval '1 day',
        last_event_at = CASE WHEN (id * 2654435761) % 100 < 95 THEN last_event_at + interval '1 day'
                             ELSE last_event_at END
"""


async def scan_rate(rt: Runtime) -> float:
    """Rows a second: every shipment's facts, streamed through a server-side cursor and made into Facts."""
    query = select(*(shipments_table.c[c] for c in FACT_COLUMNS)).execution_options(yield_per=PAGE)
    rows, t0 = 0, time.perf_counter()
    async with rt.sessions() as session:
        async for part in (await session.stream(query)).mappings().partitions(PAGE):
            rows += len([facts_of(row) for row in part])
    return rows / (time.perf_counter() - t0)


def peak_rss_at(n: int) -> float:
    """The peak RSS of this benchmark over ``n`` shipments, run in a process of its own."""
    cmd = [sys.executable, "-m", "bench.sweep", "--shipments", str(n), "--rss-at", "0"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["peak_rss_mb"])


async def run(n: int) -> dict[str, Any]:
    url = await pg_database("zelo_bench_sweep")
    settings = Settings(database_url=url)
    async with open_runtime(settings, SimulatedClock(NOW)) as rt:
        await upgrade(rt.engine)
        t0 = time.perf_counter()
        async with rt.engine.begin() as conn:
            account = await bench_account(conn, NOW)
            params = {"account": account, "now": NOW, "today": NOW.date(), "n": n, "statuses": STATUSES}
            await conn.execute(GENERATE, params)
        async with rt.engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE shipments"))
        generated_s = time.perf_counter() - t0

        rounds: list[dict[str, Any]] = []
        for when in (NOW, NOW + DAY, NOW + DAY):
            if len(rounds) == 1:  # a day of answered polls: 95% of the parcels moved, 5% had no news
                async with rt.engine.begin() as conn:
                    await conn.execute(text(NEXT_DAY))
                    await conn.execute(text("ANALYZE shipments"))
            t0 = time.perf_counter()
            done: Detected = await sweep(rt.sessions, detector_of(rt), when)
            rounds.append(
                {
                    "seconds": round(time.perf_counter() - t0, 2),
                    "opened": sum(done.opened.values()),
                    "escalated": sum(done.escalated.values()),
                    "by_kind": dict(done.opened),
                }
            )
            print(json.dumps(rounds[-1]), flush=True)
        async with rt.sessions() as session:
            incidents = await session.scalar(select(func.count()).select_from(Incident))
        scan = await scan_rate(rt)
    return {
        "shipments": n,
        "generate_seconds": round(generated_s, 1),
        "sweep_seconds": rounds[1]["seconds"],  # the periodic sweep on the day's wave of new trouble
        "opened_by_sweep": rounds[1]["opened"],
        "steady_sweep_seconds": rounds[2]["seconds"],  # the same again: nothing new
        "cold_sweep_seconds": rounds[0]["seconds"],  # a fresh base with no incident raised yet
        "opened_cold": rounds[0]["opened"],
        "incidents_total": incidents,
        "sweep_shipments_per_s": round(n / rounds[1]["seconds"]),
        "scan_rows_per_s": round(scan),  # the same-run reference
        "sweep_to_scan": round(n / rounds[1]["seconds"] / scan, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=1_000_000)
    parser.add_argument("--rss-at", type=int, default=250_000, help="a second size, for the peak RSS (0: none)")
    args = parser.parse_args()
    smaller = peak_rss_at(args.rss_at) if 0 < args.rss_at != args.shipments else None
    figures = asyncio.run(run(args.shipments))
    if smaller is not None:
        figures["peak_rss_mb_by_shipments"] = {str(args.rss_at): smaller, str(args.shipments): figures["peak_rss_mb"]}
    print(json.dumps(figures))
