"""Filing: ready claims handed to their filer in batches; every answer recorded; a process killed between the
carrier's answer and the commit leaves exactly one claim at the carrier."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Answer, ClaimFiler, ClaimRequest, Filing, Outcome
from claims.filing import Filer
from claims.models import ClaimFiling
from claims.service import Claims
from tests.claims.conftest import Parcels
from tracker.clock import SimulatedClock
from tracker.vocabulary import Kind


@dataclass
class FakeCarrier:
    """A carrier that registers each (tracking code, motivo) once and answers 900 to a second one."""

    name: str = "correios_api"
    batch_limit: int = 2
    registered: dict[tuple[str, int], str] = field(default_factory=dict)
    answers: dict[str, Outcome] = field(default_factory=dict)  # tracking code → a forced outcome
    calls: list[int] = field(default_factory=list)

    async def file(self, requests: Sequence[ClaimRequest]) -> list[Filing]:
        self.calls.append(len(requests))
        out = []
        for r in requests:
            forced = self.answers.get(r.tracking_code)
            if forced is not None:
                out.append(Filing(r.claim_id, forced, code="544" if forced is Outcome.REFUSED else "999", reason="x"))
            elif (r.tracking_code, r.motivo) in self.registered:
                out.append(
                    Filing(r.claim_id, Outcome.ALREADY_FILED, self.registered[(r.tracking_code, r.motivo)], "900")
                )
            else:
                protocol = f"PI{len(self.registered) + 1:06d}"
                self.registered[(r.tracking_code, r.motivo)] = protocol
                out.append(Filing(r.claim_id, Outcome.FILED, protocol, "0"))
        return out

    async def follow(self, protocols: Sequence[str]) -> list[Answer]:
        return []

    async def reactivate(self, protocol: str, claim_id: int, reason: str) -> Filing:
        return Filing(claim_id, Outcome.FILED, protocol, "512")


@dataclass
class Source:
    carrier: FakeCarrier

    async def filer(self, name: str, carrier: str, account_id: int | None) -> ClaimFiler:
        if name != self.carrier.name:
            raise LookupError(f"no filer {name}")
        return self.carrier


async def ready_claims(parcels: Parcels, sessions: async_sessionmaker[AsyncSession], n: int, **facts) -> list[int]:  # type: ignore[no-untyped-def]
    claims, out = Claims(), []
    for _ in range(n):
        shipment = await parcels.shipment(carrier_expected_delivery=date(2026, 10, 28), **facts)
        async with sessions() as session, session.begin():
            await claims(session, [await parcels.raised(shipment, Kind.LOST)], [], parcels.now())
        out.append(shipment)
    return out


def auto_filer(sessions: async_sessionmaker[AsyncSession], carrier: FakeCarrier) -> Filer:
    return Filer(sessions, Claims(), Source(carrier), reply_email="sac@loja.example")


@pytest.fixture(autouse=True)
def auto_filing(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests file without the store's click: the Correios policy, with ``filing = "auto"``."""
    from dataclasses import replace

    from claims.policy import Policies

    original = Policies.for_shipment
    monkeypatch.setattr(Policies, "for_shipment", lambda self, c, s: replace(original(self, c, s), filing="auto"))


async def test_ready_claims_are_filed_in_batches_with_their_protocol(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    shipments = await ready_claims(parcels, sessions, 3)
    carrier = FakeCarrier()
    report = await auto_filer(sessions, carrier).file_due(clock.now())
    assert report.filed == 3 and carrier.calls == [2, 1]
    for shipment in shipments:
        [claim] = await parcels.claims(shipment)
        assert claim.status == "filed" and claim.protocol and claim.protocol.startswith("PI")
        assert claim.answer_due_at is not None and claim.answer_due_at.date() == date(2026, 11, 9)  # 5 business days
    assert (await auto_filer(sessions, carrier).file_due(clock.now())).filed == 0  # nothing twice


async def test_refusals_keep_the_carrier_code_and_temporary_faults_retry_later(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    refused, retried = await ready_claims(parcels, sessions, 2)
    carrier = FakeCarrier()
    codes = {}
    async with sessions() as session:
        from tracker.models import Shipment

        for sid in (refused, retried):
            codes[sid] = (await session.get(Shipment, sid)).tracking_code  # type: ignore[union-attr]
    carrier.answers = {codes[refused]: Outcome.REFUSED, codes[retried]: Outcome.RETRY}
    report = await auto_filer(sessions, carrier).file_due(clock.now())
    assert (report.refused, report.retried) == (1, 1)
    [r] = await parcels.claims(refused)
    assert (r.status, r.refusal_code) == ("refused", "544")
    [t] = await parcels.claims(retried)
    assert t.status == "ready" and t.next_attempt_at is not None and t.next_attempt_at > clock.now()
    assert (await auto_filer(sessions, carrier).file_due(clock.now())).retried == 0  # waits its back-off
    carrier.answers = {}
    clock.advance(timedelta(hours=1))
    assert (await auto_filer(sessions, carrier).file_due(clock.now())).filed == 1


async def test_a_filer_the_carrier_lacks_falls_back_to_a_person(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    [shipment] = await ready_claims(parcels, sessions, 1)
    report = await auto_filer(sessions, FakeCarrier(name="other")).file_due(clock.now())
    assert report.fell_back == 1
    [claim] = await parcels.claims(shipment)
    assert (claim.status, claim.filer) == ("ready", "manual")


async def test_a_crash_between_the_carriers_answer_and_the_commit_files_once(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    [shipment] = await ready_claims(parcels, sessions, 1)
    carrier = FakeCarrier()
    dying = auto_filer(sessions, carrier)

    async def killed(*args: object) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr(dying, "_record", killed)
    with pytest.raises(SystemExit):
        await dying.file_due(clock.now())
    [claim] = await parcels.claims(shipment)
    assert claim.status == "filing" and len(carrier.registered) == 1
    assert (await auto_filer(sessions, carrier).file_due(clock.now())).filed == 0  # its lease still holds
    clock.advance(timedelta(minutes=11))
    assert (await auto_filer(sessions, carrier).file_due(clock.now())).filed == 1
    [claim] = await parcels.claims(shipment)
    assert claim.status == "filed" and claim.protocol == "PI000001" and len(carrier.registered) == 1
    async with sessions() as session:
        outcomes = [f.outcome for f in await session.scalars(select(ClaimFiling))]
    assert outcomes == ["already_filed"]


async def test_claims_waiting_for_approval_are_not_filed(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the Correios policy as shipped: the store approves each claim
    [shipment] = await ready_claims(parcels, sessions, 1)
    assert (await auto_filer(sessions, FakeCarrier()).file_due(clock.now())).filed == 0
    [claim] = await parcels.claims(shipment)
    assert claim.status == "ready" and claim.filing == "approval"
