"""Benchmark: the scorecard rollups and ``GET /v1/scorecards`` on PostgreSQL.

Generates N shipments inside PostgreSQL (one INSERT … SELECT over generate_series) shipped over the last 90 days,
across five carriers, two services, ten origin and ten destination UFs and five categories, with ten events
each (the last a delivery or a failed attempt), incidents on 8% of them (most resolved) and claims on 1%. Then:
the full rollup (the first run rolls every day), an incremental rollup after a day's late events (2,000
shipments of one ship day moved), and the scorecard API (in process, through the app with an API key) for
a 30-day period under each grouping: p50 and p95; then the dashboard's Transportadoras page (the default 30 days,
and with a destination UF, a category, the last 7 days) and its alert page, signed in through a real session
(the login form, its CSRF cookie, the session cookie), over HTTP against the same app: p50 and p95 of each;
``dashboard_p95_ms`` is the worse of the two pages' p95. The last line is one JSON object.

    python -m bench.scorecards [--shipments 100000] [--events 10] [--requests 60]
"""

import argparse
import asyncio
import json
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from bench.support import bench_account, pg_database
from dashboard.users import create_user
from tracker.apikeys import create_key
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.metrics.rollup import roll_changed
from tracker.migrate import upgrade
from zelo.app import create_app
from zelo.features import open_runtime

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
DAYS = 90
PASSWORD = "uma senha de bancada longa"
CARRIER_PAGES = ({}, {"destination_state": "SP"}, {"category": "moda"}, {"from": "2026-11-24"})
GROUPS = ("carrier", "service", "route", "destination_state", "category", "week", "carrier,destination_state")

SHIPMENTS = text(
    """
    INSERT INTO shipments (carrier, carrier_account_id, tracking_code, service, origin_state, destination_state,
        category, shipped_at, created_at, updated_at, status, poll_error_count, customer_consent,
        promised_delivery_date, carrier_expected_delivery, delivered_at, transit_business_days)
    SELECT (ARRAY['correios','jadlog','loggi','totalexpress','melhorenvio'])[1 + g % 5], p.account,
        'BS' || lpad(g::text, 9, '0') || 'BR', CASE WHEN g % 3 = 0 THEN 'PAC' ELSE 'SEDEX' END,
        (ARRAY['SP','RJ','MG','PR','RS','BA','PE','AM','SC','GO'])[1 + (g / 11) % 10],
        (ARRAY['SP','RJ','MG','PR','RS','BA','PE','AM','SC','GO'])[1 + (g / 7) % 10],
        (ARRAY['moda','casa','eletronicos','beleza','livros'])[1 + (g / 13) % 5],
        x.shipped, x.shipped, x.shipped, 'delivered', 0, false,
        CAST(x.shipped AS date) + 5, CAST(x.shipped AS date) + (4 + g % 3)::int,
        x.shipped + make_interval(days => (2 + g % 7)::int), 2 + (g % 7)
    FROM (SELECT CAST(:now AS timestamptz) AS now, CAST(:account AS bigint) AS account) AS p,
         generate_series(CAST(1 AS bigint), CAST(:n AS bigint)) AS g,
         LATERAL (SELECT p.now - make_interval(days => ((g * 7919) % :days)::int, hours => (g % 24)::int)
                  AS shipped) AS x
    """
)
EVENTS = text(
    """
    INSERT INTO tracking_events (shipment_id, occurred_at, code, status, description, known_code, voided, raw,
        recorded_at)
    SELECT s.id, s.shipped_at + make_interval(hours => (k * (2 + s.id % 7) * 24 / :events)::int),
        'E' || k, CASE WHEN k = :events THEN 'delivered'
                       WHEN k = :events - 1 AND s.id % 10 = 0 THEN 'delivery_failed'
                       WHEN k = 1 THEN 'posted' ELSE 'in_transit' END,
        'evento', true, false, '{}', s.shipped_at
    FROM shipments s, generate_series(1, :events) AS k
    """
)
INCIDENTS = text(
    """
    INSERT INTO incidents (shipment_id, kind, status, severity, owner, next_action, trigger, evidence, opened_at,
        updated_at, triage_due_at, resolved_at, reopened_count)
    SELECT s.id, (ARRAY['delayed','failed_attempt','stalled','lost','damaged'])[1 + s.id % 5],
        CASE WHEN s.id % 4 = 0 THEN 'open' ELSE 'resolved' END, 'medium', 'ops', '-', 't', '{}',
        s.shipped_at + interval '2 days', least(s.shipped_at + interval '2 days', CAST(:now AS timestamptz)),
        s.shipped_at + interval '3 days',
        CASE WHEN s.id % 4 = 0 THEN NULL ELSE s.shipped_at + make_interval(days => 2, hours => (s.id % 90)::int) END, 0
    FROM shipments s WHERE (s.id * 2654435761) % 100 < 8
    """
)
CLAIMS = text(
    """
    INSERT INTO claims (shipment_id, claim_type, kind, carrier, status, motivo, manifestation, filer, filing,
        opens_at, closes_at, missing, amount_claimed, amount_rule, amount_paid, filed_at, attempts, reactivations,
        created_at, updated_at)
    SELECT s.id, 'indemnity', 'lost', s.carrier, (ARRAY['filed','approved','denied','paid'])[1 + s.id % 4], 1, 'R',
        'correios', 'auto', s.shipped_at, s.shipped_at + interval '30 days', '[]', 100 + s.id % 200, '-',
        CASE WHEN s.id % 4 = 3 THEN 100 + s.id % 200 END, s.shipped_at + interval '5 days', 1, 0, s.shipped_at,
        least(s.shipped_at + interval '5 days', CAST(:now AS timestamptz))
    FROM shipments s WHERE (s.id * 40503) % 100 < 1
    """
)
LATE = text(
    """
    UPDATE shipments SET updated_at = :now, delivered_at = delivered_at + interval '1 day'
    WHERE id IN (SELECT id FROM shipments WHERE coalesce(shipped_at, created_at) >= :lo
                 AND coalesce(shipped_at, created_at) < :hi LIMIT 2000)
    """
)


async def sign_in(http: httpx.AsyncClient) -> None:
    """The login form as a browser posts it: its CSRF token from the page and its cookie; the session cookie kept."""
    form = await http.get("/dashboard/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None, form.text[:300]
    answer = await http.post("/dashboard/login", data={"email": "bench@loja.example", "password": PASSWORD,
                                                       "csrf": token[1]})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard", answer.text[:300]


async def timed(http: httpx.AsyncClient, path: str, variants: list[dict[str, str]], requests: int) -> list[float]:
    samples = []
    for i in range(requests + len(variants)):  # the first round warms up
        t0 = time.perf_counter()
        answer = await http.get(path, params=variants[i % len(variants)])
        elapsed = time.perf_counter() - t0
        assert answer.status_code == 200 and "<html" in answer.text, answer.text[:300]
        if i >= len(variants):
            samples.append(elapsed)
    return samples


def ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def run(n: int, events: int, requests: int) -> dict[str, Any]:
    url = await pg_database("zelo_bench_scorecards")
    settings = Settings(database_url=url)
    clock = SimulatedClock(NOW)
    async with open_runtime(settings, clock) as rt:
        await upgrade(rt.engine)
        t0 = time.perf_counter()
        async with rt.engine.begin() as conn:
            account = await bench_account(conn, NOW)
            await conn.execute(SHIPMENTS, {"now": NOW, "account": account, "n": n, "days": DAYS})
            await conn.execute(EVENTS, {"events": events})
            await conn.execute(INCIDENTS, {"now": NOW - timedelta(hours=1)})
            await conn.execute(CLAIMS, {"now": NOW - timedelta(hours=1)})
        async with rt.engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE"))
        generated_s = time.perf_counter() - t0
        print(json.dumps({"generated_s": round(generated_s, 1), "shipments": n, "events": n * events}), flush=True)

        t0 = time.perf_counter()
        clock.advance(timedelta(minutes=30))  # the rollup job runs a while after the last change
        async with rt.sessions() as session, session.begin():
            days = await roll_changed(session, clock.now())
        full_s = time.perf_counter() - t0
        print(json.dumps({"full_rollup_s": round(full_s, 2), "days": len(days)}), flush=True)

        clock.advance(timedelta(hours=1))
        day = (NOW - timedelta(days=10)).replace(hour=3, minute=0)
        async with rt.engine.begin() as conn:
            await conn.execute(LATE, {"now": clock.now(), "lo": day, "hi": day + timedelta(days=1)})
        t0 = time.perf_counter()
        async with rt.sessions() as session, session.begin():
            again = await roll_changed(session, clock.now())
        daily_s = time.perf_counter() - t0
        print(json.dumps({"daily_rollup_s": round(daily_s, 2), "days": [d.isoformat() for d in again]}), flush=True)

        async with rt.sessions() as session, session.begin():
            key, _ = await create_key(session, name="bench", scopes=["read"], now=clock.now())
            await create_user(session, email="bench@loja.example", role="viewer", password=PASSWORD, now=clock.now())
    app = create_app(settings.model_copy(update={"log_level": "warning"}), clock)
    samples: list[float] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://zelo") as http,
    ):
        headers = {"Authorization": f"Bearer {key}"}
        period = {"from": (NOW - timedelta(days=30)).date().isoformat(), "to": NOW.date().isoformat()}
        for i in range(requests + len(GROUPS)):  # the first round warms up
            t0 = time.perf_counter()
            answer = await http.get("/v1/scorecards", params=period | {"group_by": GROUPS[i % len(GROUPS)]},
                                    headers=headers)  # fmt: skip
            elapsed = time.perf_counter() - t0
            assert answer.status_code == 200, answer.text
            if i >= len(GROUPS):
                samples.append(elapsed)
        await sign_in(http)
        carriers = await timed(http, "/dashboard/carriers", list(CARRIER_PAGES), requests)
        alerts = await timed(http, "/dashboard", [{}], requests)
    return {
        "shipments": n,
        "events": n * events,
        "generate_s": round(generated_s, 1),
        "full_rollup_s": round(full_s, 2),
        "daily_rollup_s": round(daily_s, 2),
        "scorecard_p50_ms": ms(samples, 0.5),
        "scorecard_p95_ms": ms(samples, 0.95),
        "scorecard_mean_ms": round(1000 * statistics.mean(samples), 1),
        "carriers_page_p50_ms": ms(carriers, 0.5),
        "carriers_page_p95_ms": ms(carriers, 0.95),
        "alerts_page_p50_ms": ms(alerts, 0.5),
        "alerts_page_p95_ms": ms(alerts, 0.95),
        "dashboard_p95_ms": max(ms(carriers, 0.95), ms(alerts, 0.95)),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipments", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10, help="events per shipment")
    parser.add_argument(
        "--requests", type=int, default=60, help="requests measured: scorecard API, each dashboard page"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.shipments, args.events, args.requests))))
