"""Claims from the detector's incidents: opened in the same transaction, one per (shipment, type), brought
up to date on every change, withdrawn when a lost parcel turns up, expired if a window ever closes unfiled."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Status
from claims.models import ClaimChange
from claims.service import Claims
from tests.claims.conftest import Parcels
from tracker.clock import SimulatedClock
from tracker.models import Shipment
from tracker.signals import Moved
from tracker.vocabulary import Kind

BRT = ZoneInfo("America/Sao_Paulo")
CLAIMS = Claims()
# the clock fixture: Monday 2026-11-02, 08:00 in Brasília


async def listen(sessions: async_sessionmaker[AsyncSession], now: datetime, raised=(), moved=()) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        await CLAIMS(session, list(raised), list(moved), now)


async def test_a_lost_parcel_past_its_deadline_becomes_a_ready_indemnity_claim(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 28))
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.LOST)])
    [claim] = await parcels.claims(shipment)
    assert (claim.claim_type, claim.status, claim.motivo, claim.manifestation) == ("indemnity", "ready", 211, "I")
    assert claim.amount_claimed == Decimal("230.00")  # declared 200 (PAC cap 3000) + postage 30
    assert claim.closes_at == datetime(2026, 11, 27, 23, 59, 59, tzinfo=BRT)
    async with sessions() as session:
        trail = [c.action for c in await session.scalars(select(ClaimChange).order_by(ClaimChange.id))]
    assert trail == ["opened", "ready"]


async def test_a_second_incident_of_the_same_claim_type_joins_the_first(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 28))
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.LOST)])
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.STOLEN)])
    claims = await parcels.claims(shipment)
    assert [(c.claim_type, c.kind) for c in claims] == [("indemnity", "lost")]


async def test_kinds_nobody_claims_open_nothing(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 28))
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.STALLED)])
    assert await parcels.claims(shipment) == []


async def test_missing_evidence_keeps_a_candidate_until_it_arrives(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(
        carrier_expected_delivery=date(2026, 10, 28), shipping_cost=None, customer_name=None
    )
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.LOST)])
    [claim] = await parcels.claims(shipment)
    assert claim.status == "candidate" and claim.missing == ["customer_name", "shipping_cost"]
    # the ERP sends the rest: the next change of the parcel reassesses it
    async with sessions() as session, session.begin():
        await session.execute(
            update(Shipment).where(Shipment.id == shipment).values(shipping_cost=Decimal("12.5"), customer_name="Ana")
        )
        await CLAIMS.reassess(session, [claim.id], clock.now())
    [claim] = await parcels.claims(shipment)
    assert claim.status == "ready" and claim.missing == [] and claim.amount_claimed == Decimal("212.50")


async def test_a_delay_waits_for_the_deadline_and_the_delivery_then_is_ready(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 11, 2))
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.DELAYED)])
    [claim] = await parcels.claims(shipment)
    assert claim.status == "candidate"  # Correios would answer 544: still inside the deadline
    clock.set(datetime(2026, 11, 3, 9, 0, tzinfo=BRT))
    async with sessions() as session, session.begin():
        await CLAIMS.reassess(session, [claim.id], clock.now())
    [claim] = await parcels.claims(shipment)
    assert (claim.status, claim.missing) == ("candidate", ["delivery"])  # Correios 531: not delivered yet
    await parcels.event(shipment, Status.DELIVERED, datetime(2026, 11, 3, 14, 0, tzinfo=BRT))
    await listen(sessions, clock.now(), moved=[Moved(shipment, Status.IN_TRANSIT, Status.DELIVERED, clock.now())])
    [claim] = await parcels.claims(shipment)
    assert claim.status == "ready" and claim.amount_claimed == Decimal("1.50")  # 1 business day: 5 % of 30


async def test_a_delay_whose_first_attempt_was_on_time_is_withdrawn(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 30))
    await parcels.event(shipment, Status.DELIVERY_FAILED, datetime(2026, 10, 30, 14, tzinfo=BRT))
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.DELIVERED_LATE)])
    [claim] = await parcels.claims(shipment)
    assert claim.status == "withdrawn"  # Correios 530: the first attempt stops the delay clock


async def test_a_lost_parcel_that_turns_up_withdraws_its_claim(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 28))
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.LOST)])
    await listen(sessions, clock.now(), moved=[Moved(shipment, Status.LOST, Status.IN_TRANSIT, clock.now())])
    [claim] = await parcels.claims(shipment)
    assert claim.status == "withdrawn"


async def test_a_window_that_closed_unfiled_expires(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 28))
    await listen(sessions, clock.now(), [await parcels.raised(shipment, Kind.LOST)])
    [claim] = await parcels.claims(shipment)
    clock.advance(timedelta(days=40))
    async with sessions() as session, session.begin():
        await CLAIMS.reassess(session, [claim.id], clock.now())
    [claim] = await parcels.claims(shipment)
    assert claim.status == "expired"
