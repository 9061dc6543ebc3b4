"""The deadline watch: alerts at 5 and 2 business days before a window closes, at once when one expired or
was refused, and when the carrier's answer is overdue; each alert once, however often the watch runs."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from claims.deadlines import watch
from claims.filing import Filer
from claims.service import Claims
from tests.claims.conftest import Parcels
from tests.claims.test_filing import FakeCarrier, Source, auto_filing, ready_claims  # noqa: F401
from tracker.clock import SimulatedClock
from tracker.signals import Alert
from tracker.vocabulary import Kind

BRT = ZoneInfo("America/Sao_Paulo")
CLAIMS = Claims()


@dataclass
class Sink:
    """An outbox in miniature: one alert per key."""

    seen: dict[str, Alert] = field(default_factory=dict)

    async def __call__(self, session: AsyncSession, alerts: Sequence[Alert], now: datetime) -> int:
        new = [a for a in alerts if a.key not in self.seen]
        self.seen.update({a.key: a for a in new})
        return len(new)

    def events(self) -> list[tuple[str, str]]:
        return [(a.facts["event"], a.key.split(":", 2)[2]) for a in self.seen.values()]


async def run(sessions: async_sessionmaker[AsyncSession], sink: Sink, now: datetime) -> int:
    async with sessions() as session, session.begin():
        return (await watch(session, CLAIMS, sink, now)).alerts


async def test_closing_windows_alert_at_5_and_2_business_days_and_expiry_at_once(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    # expected 28/10 → the window closes 27/11 23:59 (Brasília); 20/11 is a holiday
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 28))
    async with sessions() as session, session.begin():
        await CLAIMS(session, [await parcels.raised(shipment, Kind.LOST)], [], clock.now())
    sink = Sink()
    assert await run(sessions, sink, datetime(2026, 11, 18, 9, tzinfo=BRT)) == 0  # 6 business days left
    assert await run(sessions, sink, datetime(2026, 11, 19, 9, tzinfo=BRT)) == 1  # 5 left: 20/11 is closed
    assert await run(sessions, sink, datetime(2026, 11, 21, 10, tzinfo=BRT)) == 0  # once
    assert await run(sessions, sink, datetime(2026, 11, 25, 9, tzinfo=BRT)) == 1  # 2 left
    assert await run(sessions, sink, datetime(2026, 11, 28, 0, 1, tzinfo=BRT)) == 1  # closed unfiled
    assert sink.events() == [("closing", "closing:5"), ("closing", "closing:2"), ("expired", "expired")]
    [claim] = await parcels.claims(shipment)
    assert claim.status == "expired"
    assert await run(sessions, sink, datetime(2026, 11, 29, tzinfo=BRT)) == 0


async def test_a_too_early_claim_becomes_ready_when_its_window_opens(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 11, 4))
    async with sessions() as session, session.begin():
        await CLAIMS(session, [await parcels.raised(shipment, Kind.LOST)], [], clock.now())
    async with sessions() as session, session.begin():
        report = await watch(session, CLAIMS, Sink(), datetime(2026, 11, 5, 0, 0, 1, tzinfo=BRT))
    assert report.ready == 1
    [claim] = await parcels.claims(shipment)
    assert claim.status == "ready"


async def test_a_refusal_alerts_at_once_and_an_overdue_answer_once(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    refused, filed = await ready_claims(parcels, sessions, 2)
    carrier = FakeCarrier()
    from tracker.models import Shipment

    async with sessions() as session:
        code = (await session.get(Shipment, refused)).tracking_code  # type: ignore[union-attr]
    from carriers.base import Outcome

    carrier.answers = {code: Outcome.REFUSED}
    sink = Sink()
    await Filer(sessions, CLAIMS, Source(carrier), "sac@loja.example", alert=sink).file_due(clock.now())
    assert sink.events() == [("refused", "refused")]
    assert sink.seen[next(iter(sink.seen))].facts["code"] == "544"
    [claim] = await parcels.claims(filed)
    assert claim.answer_due_at is not None
    assert await run(sessions, sink, claim.answer_due_at - timedelta(minutes=1)) == 0
    assert await run(sessions, sink, claim.answer_due_at + timedelta(minutes=1)) == 1
    assert await run(sessions, sink, claim.answer_due_at + timedelta(days=1)) == 0
    assert sink.events()[-1][0] == "answer_overdue"


async def test_a_delay_never_delivered_is_withdrawn_not_expired_when_its_window_closes(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 28))
    async with sessions() as session, session.begin():
        await CLAIMS(session, [await parcels.raised(shipment, Kind.DELAYED)], [], clock.now())
    sink = Sink()
    await run(sessions, sink, datetime(2026, 11, 28, 0, 1, tzinfo=BRT))
    [claim] = await parcels.claims(shipment)
    assert claim.status == "withdrawn" and not [e for e, _ in sink.events() if e == "expired"]
