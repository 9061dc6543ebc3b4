"""Benchmark: the claims deadline watch over 1,000,000 shipments with 100,000 open claims on PostgreSQL,
and filing throughput to the sandbox's REST replica of Correios' pedido-informacao, in batches
through the ``correios_api`` filer, the sandbox in its own process.

The shipments and claims are generated inside PostgreSQL (INSERT … SELECT over generate_series). Of the
open claims, 30% are ready, 15% candidates, 45% filed (a tenth of them past the carrier's answer deadline),
10% approved; windows close over the next 45 days, a few already closed. The watch runs twice: the first
pass expires, readies and alerts; the second finds nothing new (every alert is keyed). Peak RSS is this
process's. The last line is one JSON object.

    python -m bench.claims [--shipments 1000000] [--claims 100000] [--file 5000]
"""

import argparse
import asyncio
import json
import resource
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.support import bench_account, free_port, pg_database
from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel
from carriers.sandbox import server as sandbox_server
from claims import filer_of
from claims.deadlines import watch
from claims.service import Claims
from notifier.alerts import queue_alerts
from notifier.outbox import Outbox
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.db import make_engine, make_sessionmaker
from tracker.migrate import upgrade
from tracker.signals import Alert
from zelo.demo_carriers import track_parcels
from zelo.features import open_runtime

NOW = datetime(2026, 11, 12, 14, 0, tzinfo=UTC)  # a Thursday, 11:00 in Brasília
SHIPMENTS = text(
    """
    INSERT INTO shipments (carrier, carrier_account_id, tracking_code, service, destination_state, created_at,
        updated_at, status, poll_error_count, customer_consent, customer_name, shipping_cost, declared_value,
        carrier_expected_delivery)
    SELECT 'correios', CAST(:account AS bigint), 'BC' || lpad(g::text, 9, '0') || 'BR',
        CASE WHEN g % 3 = 0 THEN 'PAC' ELSE 'SEDEX' END, 'SP', CAST(:now AS timestamptz),
        CAST(:now AS timestamptz), 'in_transit', 0, false, 'Cliente', 25.00, 150.00,
        CAST(:today AS date) - (g % 40)::int
    FROM generate_series(CAST(1 AS bigint), CAST(:n AS bigint)) AS g
    """
)
CLAIMS = text(
    """
    INSERT INTO claims (shipment_id, claim_type, kind, carrier, status, motivo, manifestation, filer, filing,
        opens_at, closes_at, missing, amount_claimed, amount_rule, protocol, filed_at, answer_due_at, attempts,
        reactivations, created_at, updated_at)
    SELECT s.id, 'indemnity', 'lost', 'correios', st.status, 211, 'I', 'correios_api', 'auto',
        p.now - interval '3 days',
        p.now + make_interval(hours => ((g * 7919) % (45 * 24))::int - 12),
        CAST(CASE WHEN st.status = 'candidate' AND g % 2 = 0 THEN '["shipping_cost"]' ELSE '[]' END AS json),
        175.00, 'bench', CASE WHEN st.status IN ('filed', 'approved') THEN 'PI' || g END,
        CASE WHEN st.status IN ('filed', 'approved') THEN p.now - interval '2 days' END,
        CASE WHEN st.status = 'filed' THEN p.now + make_interval(days => ((g % 10) - 1)::int) END,
        0, 0, p.now, p.now
    FROM (SELECT CAST(:now AS timestamptz) AS now) AS p,
         generate_series(CAST(1 AS bigint), CAST(:claims AS bigint)) AS g
         JOIN shipments s ON s.id = g * (CAST(:n AS bigint) / CAST(:claims AS bigint)),
         LATERAL (SELECT (ARRAY['ready','ready','ready','candidate','candidate','filed','filed','filed','filed',
                                'approved'])[1 + g % 10] AS status) AS st
    """
)


async def run(n: int, claims: int) -> dict[str, Any]:
    url = await pg_database("zelo_bench_claims")
    engine = make_engine(url)
    await upgrade(engine)
    t0 = time.perf_counter()
    async with engine.begin() as conn:
        account = await bench_account(conn, NOW)
        params = {"now": NOW, "today": NOW.date(), "account": account, "n": n, "claims": claims}
        await conn.execute(SHIPMENTS, params)
        await conn.execute(CLAIMS, params)
        await conn.execute(text("ANALYZE"))
    generate_s = time.perf_counter() - t0
    outbox = Outbox(Settings(database_url=url, ops_email="ops@loja.example", ops_webhook_url="http://127.0.0.1:9/h"))

    async def sink(session: AsyncSession, alerts: Sequence[Alert], now: datetime) -> int:
        return await queue_alerts(session, outbox, alerts, now)  # the notifier's outbox, as in production

    sessions, service = make_sessionmaker(engine), Claims()
    passes = []
    for _ in range(2):
        t = time.perf_counter()
        async with sessions() as session, session.begin():
            report = await watch(session, service, sink, NOW)
        passes.append((time.perf_counter() - t, report))
    await engine.dispose()
    first, second = passes
    return {
        "shipments": n,
        "open_claims": claims,
        "generate_seconds": round(generate_s, 1),
        "deadline_sweep_seconds": round(first[0], 2),
        "deadline_sweep_again_seconds": round(second[0], 2),
        "expired": first[1].expired,
        "became_ready": first[1].ready,
        "alerts": first[1].alerts,
        "alerts_again": second[1].alerts,
        "sweep_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


FILE_T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FILE_NOW = FILE_T0 + timedelta(days=30)  # the lost parcels are past their deadline, inside their window
READY = text(
    """
    INSERT INTO claims (shipment_id, claim_type, kind, carrier, status, motivo, manifestation, filer, filing,
        opens_at, closes_at, missing, amount_claimed, amount_rule, attempts, reactivations, created_at, updated_at)
    SELECT id, 'indemnity', 'lost', 'correios', 'ready', 211, 'I', 'correios_api', 'auto',
        CAST(:opens AS timestamptz), CAST(:closes AS timestamptz), CAST('[]' AS json), 175.00, 'bench', 0, 0,
        CAST(:now AS timestamptz), CAST(:now AS timestamptz)
    FROM shipments
    """
)


async def filing(n: int) -> dict[str, Any]:
    """``n`` ready claims filed through the correios_api filer to the sandbox's replica (its own process)."""
    port = free_port()
    sandbox = f"http://127.0.0.1:{port}"
    proc = sandbox_server.spawn(port)
    try:
        sandbox_server.wait_ready(sandbox, timeout=30)
        url = await pg_database("zelo_bench_claims_filing")
        settings = Settings(database_url=url, reply_to="sac@loja.example")
        async with open_runtime(settings, SimulatedClock(FILE_NOW)) as rt, httpx.AsyncClient(base_url=sandbox) as http:
            await upgrade(rt.engine)
            parcels = [Parcel(make_code("CL", i), "lost", FILE_T0) for i in range(n)]
            async with rt.sessions() as session, session.begin():
                await track_parcels(session, rt.vault, name="bench", base_url=sandbox, parcels=parcels, now=FILE_T0)
            wire = [{"code": p.code, "scenario": p.scenario, "start": p.start.isoformat()} for p in parcels]
            for i in range(0, n, 5000):
                (await http.post("/_sandbox/parcels", json={"parcels": wire[i : i + 5000]})).raise_for_status()
            (await http.put("/_sandbox/clock", json={"now": FILE_NOW.isoformat()})).raise_for_status()
            async with rt.engine.begin() as conn:
                await conn.execute(text("UPDATE shipments SET carrier_expected_delivery = :d"), {"d": FILE_T0.date()})
                params = {"opens": FILE_T0, "closes": FILE_NOW + timedelta(days=5), "now": FILE_NOW}
                await conn.execute(READY, params)
            filer, filed, outcomes = filer_of(rt), 0, Counter[str]()
            t = time.perf_counter()
            while True:
                report = await filer.file_due(FILE_NOW)
                if not (report.filed + report.refused + report.retried + report.fell_back):
                    break
                filed += report.filed
                outcomes.update(filed=report.filed, refused=report.refused, retried=report.retried)
            seconds = time.perf_counter() - t
        return {"claims_to_file": n, "claims_filed": filed, "filing_seconds": round(seconds, 2),
                "claims_filed_per_s": round(filed / seconds), "filing_outcomes": dict(outcomes)}  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shipments", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--file", type=int, default=5_000, help="claims filed through the sandbox")
    args = parser.parse_args()
    figures = asyncio.run(run(args.shipments, args.claims))
    figures |= asyncio.run(filing(args.file))
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
