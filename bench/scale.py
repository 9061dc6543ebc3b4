"""Benchmark: scaled mode (arq workers on Redis) polling one rate-limited carrier account, and what the adaptive
schedule buys.

N active shipments (default 200,000) in PostgreSQL, all on one Correios sandbox account limited to 50 requests
per second (the account's ``requests_per_second``, booked by every worker from one Redis bucket; the sandbox,
in its own process, also answers 429 past 50 a second per token). The sandbox records every tracking request's
arrival and every code it answered (``/_sandbox/requests``). Three phases, each on a fresh request log:

1. one ``zelo worker`` process drains N due shipments never polled (a fresh database);
2. two worker processes drain the same (the database made afresh): polls per second is N over the time from the
   first carrier request to the last shipment stored;
3. a 30-minute outage, simulated on the two running workers: every shipment's next poll is put where it would
   be if it had been polled at a random moment of its last interval (the interval Zelo's cadence gave it in
   phase 2) and the carrier had answered nothing for the last 30 minutes, so the backlog is the shipments that
   came due during the outage; the drain is timed from the first carrier request to the last of them stored.

Rate-limit violations: requests beyond 50 in any sliding one-second window as the sandbox saw them, plus 429s;
apart, what one token bucket for the whole account (capacity 50, as the sandbox keeps one per token) would have
refused of the same arrivals: workers book slots exactly 1/50 s apart, so arrival jitter alone can put a 51st
request into some sliding second that such a bucket, and the long-run rate, allow.
Duplicate polls: codes the carrier answered twice within one phase. Then ``bench.notice`` (a simulation, no
workers). The last line is one JSON object.

    python -m bench.scale [--shipments 200000] [--sample 2000] [--rate 50]

``--rate`` lower than the workers can reach (e.g. 2 on a busy machine) makes the shared limit bind, so that its
violations mean something.
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import text

from bench.notice import simulate
from bench.support import ROOT, free_port, pg_database
from carriers.correios.s10 import make_code
from carriers.sandbox import scenario_names
from carriers.sandbox import server as sandbox_server
from tracker.config import Settings
from tracker.migrate import upgrade
from tracker.polling.accounts import add_account
from zelo.features import open_runtime

RATE = 50  # requests per second of the account (Correios: about 50 per contract); --rate changes it
REDIS = os.environ.get("ZELO_BENCH_REDIS", "redis://127.0.0.1:6379/13")  # flushed before each phase
SECRET = "bench-scale-secret-key-not-for-production"
SCENARIOS = [s for s in scenario_names() if s not in ("not_found", "invalid")]
OUTAGE = timedelta(minutes=30)
TICKS = os.sysconf("SC_CLK_TCK")

INSERT = text(
    """
    INSERT INTO shipments (carrier, carrier_account_id, tracking_code, created_at, updated_at, status,
        poll_error_count, customer_consent, next_poll_at)
    SELECT 'correios', CAST(:account AS bigint), c.code, p.now - make_interval(hours => (c.n % 144)::int),
        p.now, 'pending', 0, false, p.now - interval '1 minute'
    FROM (SELECT CAST(:now AS timestamptz) AS now) AS p, unnest(CAST(:codes AS text[])) WITH ORDINALITY AS c(code, n)
    """
)
BACKLOG = """
    CREATE TABLE IF NOT EXISTS bench_backlog (id bigint PRIMARY KEY);
    TRUNCATE bench_backlog;
"""
POLLED = text(
    "SELECT count(*) FILTER (WHERE s.last_polled_at >= :t), count(*) FILTER (WHERE s.poll_error_count > 0) "
    "FROM bench_backlog b JOIN shipments s USING (id)"
)


def codes(n: int) -> list[str]:
    return [make_code("SC", i) for i in range(n)]


async def register_parcels(sandbox: str, n: int, start: datetime) -> None:
    """The sandbox's parcels: every scenario in turn, posted over the 6 days before ``start``."""
    wire = [
        {
            "code": code,
            "scenario": SCENARIOS[i % len(SCENARIOS)],
            "start": (start - timedelta(hours=6 + (i * 7919) % 138)).isoformat(),
        }
        for i, code in enumerate(codes(n))
    ]
    async with httpx.AsyncClient(base_url=sandbox, timeout=120) as http:
        for i in range(0, n, 5000):
            (await http.post("/_sandbox/parcels", json={"parcels": wire[i : i + 5000]})).raise_for_status()
        faults = {"rate_limit_per_s": RATE}
        (await http.put("/_sandbox/faults", json=faults)).raise_for_status()


async def fresh_database(sandbox: str, n: int) -> str:
    """A new database: the schema, the sandbox account at RATE requests per second, N due shipments."""
    url = await pg_database("zelo_bench_scale")
    now = datetime.now(UTC)
    async with open_runtime(Settings(database_url=url, secret_key=SECRET)) as rt:
        await upgrade(rt.engine)
        async with rt.sessions() as session, session.begin():
            account = await add_account(
                session,
                rt.vault,
                carrier="correios",
                name="sandbox",
                credentials={"user": "u", "access_code": "c", "posting_card": "1"},
                base_url=sandbox,
                now=now,
                requests_per_second=RATE,
            )
            await session.execute(INSERT, {"account": account.id, "now": now, "codes": codes(n)})
        async with rt.engine.begin() as conn:
            for statement in BACKLOG.split(";")[:-1]:
                await conn.execute(text(statement))
            await conn.execute(text("INSERT INTO bench_backlog SELECT id FROM shipments"))
            await conn.execute(text("ANALYZE"))
    return url


async def flush_redis() -> None:
    redis = Redis.from_url(REDIS)
    await redis.flushdb()
    await redis.aclose()


def start_workers(url: str, count: int) -> list[subprocess.Popen[bytes]]:
    env = os.environ | {
        "ZELO_DATABASE_URL": url,
        "ZELO_REDIS_URL": REDIS,
        "ZELO_SECRET_KEY": SECRET,
        "ZELO_ENV": "production",
        "ZELO_PUBLIC_BASE_URL": "https://zelo.example",
        "ZELO_LOG_LEVEL": "warning",
        "ZELO_REPLY_TO": "ops@zelo.example",  # else the claims job says, every run, that it cannot file
    }
    zelo = str(Path(sys.executable).with_name("zelo"))
    # their log lines (one warning per parcel of an unknown event code) would bury the figures: stdout dropped
    return [subprocess.Popen([zelo, "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL) for _ in range(count)]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=40)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()


def cpu_seconds(workers: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU of the worker processes so far."""
    total = 0
    for w in workers:
        fields = Path(f"/proc/{w.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


async def record(sandbox: str, on: bool) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sandbox, timeout=60) as http:
        answer = await http.put("/_sandbox/requests", json={"record": on})
        answer.raise_for_status()
        return dict(answer.json())


async def log_of(sandbox: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sandbox, timeout=60) as http:
        return dict((await http.get("/_sandbox/requests")).json())


async def drained(url: str, since: datetime, expected: int, limit_s: float) -> tuple[float, int]:
    """Wait until every backlog shipment was polled at or after ``since``: (the wall time then, failed polls)."""
    async with open_runtime(Settings(database_url=url, secret_key=SECRET)) as rt:
        deadline = time.time() + limit_s
        while time.time() < deadline:
            async with rt.engine.connect() as conn:
                polled, failed = (await conn.execute(POLLED, {"t": since})).one()
            if polled >= expected:
                return time.time(), int(failed)
            await asyncio.sleep(0.25)
    raise TimeoutError(f"{polled} of {expected} shipments polled after {limit_s:.0f} s")


def violations(times: list[float], statuses: list[int]) -> dict[str, int]:
    """Requests beyond RATE in a sliding one-second window (each counted once), the busiest window, 429s, and
    what one token bucket for the whole account (capacity RATE, as the sandbox keeps per token) would refuse."""
    times = sorted(times)
    over, busiest, first = 0, 0, 0
    level, last, refused = max(RATE, 1.0), times[0] if times else 0.0, 0
    for j, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        in_window = j - first + 1
        busiest = max(busiest, in_window)
        over += in_window > RATE
        level, last = min(max(RATE, 1.0), level + (t - last) * RATE), t
        if level >= 1.0:
            level -= 1.0
        else:
            refused += 1
    return {
        "over_rate": over,
        "busiest_second": busiest,
        "rejected_429": statuses.count(429),
        "bucket_refusals": refused,
    }


async def phase(
    sandbox: str, url: str, workers: list[subprocess.Popen[bytes]] | None, count: int, backlog: int, since: datetime
) -> tuple[dict[str, Any], list[subprocess.Popen[bytes]]]:
    """Start ``count`` workers (unless given, running) and time them draining ``backlog`` shipments."""
    cpu0 = cpu_seconds(workers) if workers else 0.0
    started = time.time()
    if workers is None:
        workers = start_workers(url, count)
    done, failed = await drained(url, since, backlog, limit_s=max(900, backlog / 20))
    cpu = cpu_seconds(workers) - cpu0
    log = await log_of(sandbox)
    first = min(log["times"]) if log["times"] else done
    seconds = done - first
    return {
        "workers": count,
        "shipments": backlog,
        "seconds": round(seconds, 1),
        "polls_per_s": round(backlog / seconds) if seconds > 0 else None,
        "seconds_from_start": round(done - started, 1),
        "requests": len(log["times"]),
        "codes_answered": log["codes"],
        "duplicate_polls": log["codes_asked_twice"],
        "failed_polls": failed,
        "worker_cpu_us_per_poll": round(1e6 * cpu / backlog),
        **violations(log["times"], log["statuses"]),
    }, workers


async def outage_backlog(url: str, now: datetime) -> int:
    """Every polled shipment's next poll put at a random moment of its interval, 30 minutes back: the ones now
    due are those that came due during the outage. Their count."""
    async with open_runtime(Settings(database_url=url, secret_key=SECRET)) as rt, rt.engine.begin() as conn:
        await conn.execute(text("TRUNCATE bench_backlog"))
        await conn.execute(
            text(
                "UPDATE shipments SET next_poll_at = CAST(:start AS timestamptz) "
                "+ random() * (next_poll_at - last_polled_at) "
                "WHERE next_poll_at IS NOT NULL AND last_polled_at IS NOT NULL"
            ),
            {"start": now - OUTAGE},
        )
        await conn.execute(
            text("INSERT INTO bench_backlog SELECT id FROM shipments WHERE next_poll_at <= :t"), {"t": now}
        )
        return int(await conn.scalar(text("SELECT count(*) FROM bench_backlog")) or 0)


async def workers_bench(n: int) -> dict[str, Any]:
    port = free_port()
    sandbox = f"http://127.0.0.1:{port}"
    start = datetime.now(UTC).replace(microsecond=0)
    proc = sandbox_server.spawn(port, start=start)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        sandbox_server.wait_ready(sandbox, timeout=30, process=proc)
        await register_parcels(sandbox, n, start)
        results: dict[str, Any] = {}
        for count in (1, 2):
            url = await fresh_database(sandbox, n)
            await flush_redis()
            await record(sandbox, True)
            results[f"{count}_workers"], workers = await phase(sandbox, url, None, count, n, datetime.now(UTC))
            print(f"{count} worker(s)", json.dumps(results[f"{count}_workers"]), flush=True)
            if count == 1:
                stop_workers(workers)
        # the outage, on the two running workers: set just before a minute's tick queues the poll runs
        await asyncio.sleep((57 - datetime.now(UTC).second) % 60)
        await record(sandbox, True)
        now = datetime.now(UTC)
        backlog = await outage_backlog(url, now)
        results["outage"], workers = await phase(sandbox, url, workers, 2, backlog, now)
        print("outage", json.dumps(results["outage"]), flush=True)
    finally:
        stop_workers(workers)
        proc.terminate()
        proc.wait(timeout=10)
    return results


async def main(n: int, sample: int) -> dict[str, Any]:
    runs = await workers_bench(n)
    notice = simulate(sample)
    print("notice", json.dumps(notice), flush=True)
    one, two, outage = runs["1_workers"], runs["2_workers"], runs["outage"]
    phases = (one, two, outage)
    return {
        "shipments": n,
        "rate_limit_per_s": RATE,
        "one_worker_polls_per_s": one["polls_per_s"],
        "two_workers_polls_per_s": two["polls_per_s"],
        "rate_limit_violations": sum(p["over_rate"] + p["rejected_429"] for p in phases),
        "busiest_second": max(p["busiest_second"] for p in phases),
        "account_bucket_refusals": sum(p["bucket_refusals"] for p in phases),
        "duplicate_polls": sum(p["duplicate_polls"] for p in phases),
        "failed_polls": sum(p["failed_polls"] for p in phases),
        "drain_seconds": outage["seconds"],
        "outage_backlog": outage["shipments"],
        "worker_cpu_us_per_poll": one["worker_cpu_us_per_poll"],
        "two_workers_cpu_us_per_poll": two["worker_cpu_us_per_poll"],
        "median_notice_minutes": notice["median_notice_minutes"],
        "p90_notice_minutes": notice["p90_notice_minutes"],
        "fixed2h_median_notice_minutes": notice["fixed2h_median_notice_minutes"],
        "fixed2h_p90_notice_minutes": notice["fixed2h_p90_notice_minutes"],
        "calls_per_shipment_day": notice["calls_per_shipment_day"],
        "fixed2h_calls_per_shipment_day": notice["fixed2h_calls_per_shipment_day"],
        "notice_by_kind": notice["notice_by_kind"],
        "scans_never_noticed": notice["scans_never_noticed"],
        "phases": runs,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=2000, help="parcels of the notice simulation")
    parser.add_argument("--rate", type=float, default=RATE, help="the account's requests per second")
    args = parser.parse_args()
    RATE = args.rate
    print(json.dumps(asyncio.run(main(args.shipments, args.sample))))
