"""The sweep on SQLite and PostgreSQL: raises once, never duplicates, leaves a person's resolution alone
unless the parcel goes wrong again, and stays silent while the carrier account is in an outage."""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.support import correios_account
from tracker.clock import SimulatedClock
from tracker.detector.models import Incident, IncidentChange
from tracker.detector.service import Detector
from tracker.detector.sweep import sweep
from tracker.models import CarrierAccount, Shipment
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


async def silent_parcels(sessions: Sessions, vault: Vault, now: datetime, n: int = 3) -> int:
    """``n`` SEDEX parcels in transit, last event four days before ``now``: Tue, Wed, Thu silent (3 ≥ 3)."""
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="main", now=now)
        items = [NewShipment("correios", account, make_code("SS", i), service="SEDEX") for i in range(n)]
        await register(session, items, now)
        await session.execute(
            update(Shipment).values(
                status="in_transit", last_event_at=now - timedelta(days=4), last_polled_at=now, poll_error_count=0
            )
        )
    return account


async def incidents(sessions: Sessions) -> list[Incident]:
    async with sessions() as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


async def test_a_rerun_never_duplicates_an_incident(sessions: Sessions, clock: SimulatedClock, vault: Vault) -> None:
    clock.advance(timedelta(days=4))  # Thursday
    await silent_parcels(sessions, vault, clock.now())
    first = await sweep(sessions, Detector(), clock.now())
    again = await sweep(sessions, Detector(), clock.now())
    assert first.opened == {"stalled": 3} and not again.opened
    rows = await incidents(sessions)
    assert [(i.kind, i.status, i.severity, i.owner) for i in rows] == [("stalled", "open", "medium", "ops")] * 3
    assert rows[0].evidence["silent_business_days"] == 3
    # one business day (9 business hours) from 08:00 in Brasília, before opening: 18:00 the same day
    assert rows[0].triage_due_at == clock.now() + timedelta(hours=10)  # Friday 18:00
    async with sessions() as session:
        changes = (await session.scalars(select(IncidentChange.action))).all()
    assert changes == ["opened"] * 3


async def test_a_resolved_incident_reopens_only_when_the_parcel_goes_wrong_again(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    clock.advance(timedelta(days=4))
    await silent_parcels(sessions, vault, clock.now(), n=1)
    await sweep(sessions, Detector(), clock.now())
    async with sessions() as session, session.begin():
        await session.execute(update(Incident).values(status="resolved", outcome="no_action", root_cause="unknown"))
    assert not (await sweep(sessions, Detector(), clock.now())).reopened  # same silence, already dealt with

    clock.advance(timedelta(days=7))  # it moved once more, then went silent again
    async with sessions() as session, session.begin():
        await session.execute(
            update(Shipment).values(last_event_at=clock.now() - timedelta(days=7), last_polled_at=clock.now())
        )
    assert (await sweep(sessions, Detector(), clock.now())).reopened == {"stalled": 1}
    (incident,) = await incidents(sessions)
    assert (incident.status, incident.reopened_count, incident.outcome) == ("open", 1, None)


async def test_the_outage_guard_holds_back_silence_and_is_reported(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    clock.advance(timedelta(days=4))
    account = await silent_parcels(sessions, vault, clock.now())
    async with sessions() as session, session.begin():
        await session.execute(
            update(CarrierAccount)
            .where(CarrierAccount.id == account)
            .values(circuit_open_until=clock.now() + timedelta(minutes=5), consecutive_failures=5, last_error="503")
        )
    guarded = await sweep(sessions, Detector(), clock.now())
    assert not guarded.opened and guarded.guarded_accounts == {"main"}
    assert await incidents(sessions) == []

    async with sessions() as session, session.begin():
        await session.execute(update(CarrierAccount).values(circuit_open_until=None, consecutive_failures=0))
    assert (await sweep(sessions, Detector(), clock.now())).opened == {"stalled": 3}


async def test_a_parcel_whose_polls_fail_is_not_stalled(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    clock.advance(timedelta(days=4))
    await silent_parcels(sessions, vault, clock.now())
    async with sessions() as session, session.begin():
        await session.execute(update(Shipment).values(poll_error_count=2))
    assert not (await sweep(sessions, Detector(), clock.now())).opened


async def test_lateness_is_reckoned_on_the_destinations_date_late_in_the_utc_day(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    # Thursday 04:30 UTC: still Wednesday in Rio Branco (UTC-5), already Thursday in São Paulo (UTC-3)
    now = clock.now() + timedelta(days=2, hours=17, minutes=30)
    promised = {"AC": now.date() - timedelta(days=2), "SP": now.date() - timedelta(days=2), "RJ": now.date()}
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="main", now=now)
        items = [
            NewShipment("correios", account, make_code("DL", i), service="SEDEX", destination_state=uf)
            for i, uf in enumerate(promised)
        ]
        await register(session, items, now)
        for i, day in enumerate(promised.values()):
            await session.execute(
                update(Shipment)
                .where(Shipment.tracking_code == make_code("DL", i))
                .values(
                    status="in_transit", original_promise_date=day, original_promise_source="store",
                    last_event_at=now - timedelta(hours=2), last_polled_at=now, poll_error_count=0,
                )
            )  # fmt: skip
    assert (await sweep(sessions, Detector(), now)).opened == {"delayed": 2}  # Tuesday's promise; not Thursday's
    async with sessions() as session:
        late = await session.execute(
            select(Shipment.destination_state, Incident.evidence).join(Incident, Incident.shipment_id == Shipment.id)
        )
        assert sorted((uf, e["business_days_late"]) for uf, e in late) == [("AC", 1), ("SP", 2)]
