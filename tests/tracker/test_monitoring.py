"""``GET /metrics``: a scraper's key reads it (and nothing else); the gauges say what waits in the database."""

import random
from datetime import timedelta
from statistics import quantiles

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import correios_account
from tests.tracker.ingest.conftest import http  # noqa: F401 (the API's fixture)
from tracker.apikeys import create_key
from tracker.clock import SimulatedClock
from tracker.models import CarrierAccount, Shipment
from tracker.polling.gauges import poll_gauges
from tracker.probes import CARRIER_CALLS, JOBS
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def key(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, *scopes: str) -> dict[str, str]:
    async with sessions() as session, session.begin():
        secret, _ = await create_key(session, name="-".join(scopes), scopes=list(scopes), now=clock.now())
    return {"Authorization": f"Bearer {secret}"}


async def test_metrics_need_the_metrics_scope_and_a_metrics_key_reads_nothing_else(
    http: httpx.AsyncClient,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    clock: SimulatedClock,
) -> None:
    assert (await http.get("/metrics")).status_code == 401
    reader = await key(sessions, clock, "read")
    refused = await http.get("/metrics", headers=reader)
    assert refused.status_code == 403 and "'metrics' is needed" in refused.text
    scraper = await key(sessions, clock, "metrics")
    assert (await http.get("/metrics", headers=scraper)).status_code == 200
    assert (await http.get("/v1/shipments", headers=scraper)).status_code == 403


async def test_the_gauges_count_due_polls_their_lag_and_each_accounts_circuit(
    http: httpx.AsyncClient,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    clock: SimulatedClock,
    vault: Vault,
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="loja-sp", now=now)
        await register(session, [NewShipment("correios", account, f"AA{i:09d}BR") for i in range(4)], now)
        lags = {1: 60, 2: 120, 3: 180, 4: -600}  # the fourth is due in 10 minutes
        for shipment_id, seconds in lags.items():
            at = now - timedelta(seconds=seconds)
            await session.execute(update(Shipment).where(Shipment.id == shipment_id).values(next_poll_at=at))
        await session.execute(
            update(CarrierAccount).values(circuit_open_until=now + timedelta(minutes=2), consecutive_failures=5)
        )
    JOBS.labels("poll_due", "ok").inc()
    CARRIER_CALLS.labels("loja-sp", "timeout").inc()
    found = samples((await http.get("/metrics", headers=await key(sessions, clock, "metrics"))).text)
    assert found[("zelo_polls_due", ())] == 3
    assert found[("zelo_poll_lag_seconds", (("quantile", "0.5"),))] == 120
    assert 178 < found[("zelo_poll_lag_seconds", (("quantile", "0.99"),))] <= 180  # interpolated
    labels = (("account", "loja-sp"), ("carrier", "correios"))
    assert found[("zelo_carrier_circuit_open", labels)] == 1
    assert found[("zelo_carrier_consecutive_failures", labels)] == 5
    assert found[("zelo_jobs_total", (("job", "poll_due"), ("outcome", "ok")))] >= 1
    assert found[("zelo_carrier_calls_total", (("account", "loja-sp"), ("outcome", "timeout")))] >= 1
    assert found[("zelo_claims_closing", (("within", "24h"),))] == 0


async def test_the_lag_quantiles_read_by_rank_match_the_quantiles_of_every_due_poll(
    sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, vault: Vault
) -> None:
    now = clock.now()
    rng = random.Random(7)
    lags = [rng.randint(1, 86_400) for _ in range(257)]
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="loja-sp", now=now)
        await register(session, [NewShipment("correios", account, f"AA{i:09d}BR") for i in range(len(lags))], now)
        for shipment_id, seconds in enumerate(lags, start=1):
            at = now - timedelta(seconds=seconds)
            await session.execute(update(Shipment).where(Shipment.id == shipment_id).values(next_poll_at=at))
    async with sessions() as session:
        found = {(s.name, s.labels.get("quantile")): s.value for s in await poll_gauges(session, now)}
    cuts = quantiles(lags, n=100, method="inclusive")
    assert found[("zelo_poll_lag_seconds", "0.5")] == pytest.approx(cuts[49], abs=1e-6)
    assert found[("zelo_poll_lag_seconds", "0.99")] == pytest.approx(cuts[98], abs=1e-6)
