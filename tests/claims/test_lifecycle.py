"""The claim lifecycle as people and the carrier move it: approval, filing by hand, the verdict, the money,
withdrawal, one reactivation; every move audited, every refused move naming what to fix."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Answer, ClaimFiler, Filing, Outcome
from claims.filing import Filer, Follower
from claims.lifecycle import Actions, ClaimError
from claims.models import ClaimChange
from claims.service import Claims
from tests.claims.conftest import Parcels
from tests.claims.test_filing import FakeCarrier, ready_claims
from tracker.clock import SimulatedClock

ACTIONS = Actions(Claims())


@dataclass
class AnsweringCarrier(FakeCarrier):
    verdicts: dict[str, Answer] = field(default_factory=dict)  # protocol → answer
    reactivated: list[str] = field(default_factory=list)

    async def follow(self, protocols: Sequence[str]) -> list[Answer]:
        return [self.verdicts[p] for p in protocols if p in self.verdicts]

    async def reactivate(self, protocol: str, claim_id: int, reason: str) -> Filing:
        self.reactivated.append(protocol)
        return Filing(claim_id, Outcome.FILED, protocol, "512")


@dataclass
class Source:
    carrier: FakeCarrier

    async def filer(self, name: str, carrier: str, account_id: int | None) -> ClaimFiler:
        return self.carrier


async def one_claim(parcels: Parcels, sessions: async_sessionmaker[AsyncSession]) -> int:
    [shipment] = await ready_claims(parcels, sessions, 1)
    [claim] = await parcels.claims(shipment)
    return claim.id


async def test_an_approved_claim_is_filed_and_a_manual_one_marked_filed_by_hand(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    approved, by_hand = await one_claim(parcels, sessions), await one_claim(parcels, sessions)
    async with sessions() as session, session.begin():
        await ACTIONS.approve(session, approved, actor="ana@loja", now=clock.now())
        await ACTIONS.mark_filed(session, by_hand, " PI777 ", actor="ana@loja", now=clock.now())
    carrier = FakeCarrier()
    assert (await Filer(sessions, Claims(), Source(carrier), "sac@loja.example").file_due(clock.now())).filed == 1
    async with sessions() as session:
        changes = list(await session.scalars(select(ClaimChange).where(ClaimChange.claim_id == by_hand)))
    assert [(c.action, c.actor) for c in changes][-1] == ("filed", "ana@loja")
    assert "PI777" in (changes[-1].note or "")


async def test_verdict_then_payment_reconciled_against_the_approved_amount(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    claim_id = await one_claim(parcels, sessions)
    now = clock.now()
    async with sessions() as session, session.begin():
        await ACTIONS.mark_filed(session, claim_id, "PI1", actor="ana", now=now)
        claim = await ACTIONS.record_answer(
            session, claim_id, "partially_approved", amount=Decimal("100.00"), message="parcial", actor="ana", now=now
        )
        assert (claim.amount_claimed, claim.amount_approved) == (Decimal("230.00"), Decimal("100.00"))
        with pytest.raises(ClaimError) as refused:
            await ACTIONS.record_payment(session, claim_id, Decimal("0"), paid_at=now, actor="ana", now=now)
        assert refused.value.field == "amount"
        claim = await ACTIONS.record_payment(session, claim_id, Decimal("90.00"), paid_at=now, actor="ana", now=now)
        assert (claim.status, claim.amount_paid) == ("paid", Decimal("90.00"))
    async with sessions() as session:
        last = (await session.scalars(select(ClaimChange).order_by(ClaimChange.id.desc()))).first()
    assert last is not None and last.note == "R$ 90.00 paid, R$ 10.00 short of the approved amount"


async def test_refused_moves_name_the_field_and_change_nothing(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    claim_id = await one_claim(parcels, sessions)
    async with sessions() as session, session.begin():
        with pytest.raises(ClaimError, match="only a filed claim gets an answer"):
            await ACTIONS.record_answer(
                session, claim_id, "approved", amount=None, message="", actor="a", now=clock.now()
            )
        with pytest.raises(ClaimError) as e:
            await ACTIONS.mark_filed(session, claim_id, "  ", actor="a", now=clock.now())
        assert e.value.field == "protocol"
        with pytest.raises(ClaimError) as e:
            await ACTIONS.withdraw(session, claim_id, "", actor="a", now=clock.now())
        assert e.value.field == "reason"
    [claim] = [c for c in await parcels.claims(await _shipment_of(sessions, claim_id)) if c.id == claim_id]
    assert claim.status == "ready"


async def _shipment_of(sessions: async_sessionmaker[AsyncSession], claim_id: int) -> int:
    from claims.models import Claim

    async with sessions() as session:
        claim = await session.get(Claim, claim_id)
        assert claim is not None
        return claim.shipment_id


async def test_following_reads_the_verdict_and_the_payment_and_a_denial_is_reactivated_once(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    paid, denied = await one_claim(parcels, sessions), await one_claim(parcels, sessions)
    async with sessions() as session, session.begin():
        await ACTIONS.mark_filed(session, paid, "PI-A", actor="ana", now=clock.now())
        await ACTIONS.mark_filed(session, denied, "PI-B", actor="ana", now=clock.now())
    from claims.models import Claim

    async with sessions() as session, session.begin():  # filed through the carrier's API, as the filer records it
        for claim_id in (paid, denied):
            claim = await session.get(Claim, claim_id)
            assert claim is not None
            claim.filer = "correios_api"
    when = clock.now() + timedelta(days=3)
    carrier = AnsweringCarrier(
        verdicts={
            "PI-A": Answer("PI-A", "X", True, True, "procedente", when, Decimal("230.00"), when),
            "PI-B": Answer("PI-B", "Y", True, False, "improcedente", when),
        }
    )
    follower = Follower(sessions, ACTIONS, Source(carrier))
    assert await follower.follow(when) == 2  # one approved and paid, one denied
    async with sessions() as session:
        got = {c.id: c for c in await session.scalars(select(Claim))}
    assert (got[paid].status, got[paid].amount_paid) == ("paid", Decimal("230.00"))
    assert got[denied].status == "denied" and got[denied].amount_approved == Decimal(0)
    claim = await follower.reactivate(denied, "the customer never received it", actor="ana", now=when)
    assert (claim.status, claim.reactivations, carrier.reactivated) == ("filed", 1, ["PI-B"])
    carrier.verdicts["PI-B"] = Answer("PI-B", "Y", True, False, "improcedente de novo", when)
    await follower.follow(when)
    with pytest.raises(ClaimError, match="reactivated 1 time"):
        await follower.reactivate(denied, "again", actor="ana", now=when)


async def test_withdrawn_by_a_person_when_the_parcel_turns_up(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    claim_id = await one_claim(parcels, sessions)
    async with sessions() as session, session.begin():
        claim = await ACTIONS.withdraw(session, claim_id, "o cliente recebeu", actor="ana", now=clock.now())
    assert claim.status == "withdrawn"


async def test_a_reactivation_the_carrier_refuses_is_recorded_and_leaves_the_claim_denied(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    from claims.models import Claim, ClaimFiling

    claim_id = await one_claim(parcels, sessions)
    async with sessions() as session, session.begin():
        await ACTIONS.mark_filed(session, claim_id, "PI-C", actor="ana", now=clock.now())
        await ACTIONS.record_answer(
            session, claim_id, "denied", amount=None, message="não", actor="ana", now=clock.now()
        )
        claim = await session.get(Claim, claim_id)
        assert claim is not None
        claim.filer = "correios_api"

    class Refusing(AnsweringCarrier):
        async def reactivate(self, protocol: str, claim_id: int, reason: str) -> Filing:
            return Filing(claim_id, Outcome.REFUSED, None, "587", "reactivation window expired")

    with pytest.raises(ClaimError, match="587"):
        await Follower(sessions, ACTIONS, Source(Refusing())).reactivate(claim_id, "foto", actor="ana", now=clock.now())
    async with sessions() as session:
        claim = await session.get(Claim, claim_id)
        attempts = [(f.operation, f.code) for f in await session.scalars(select(ClaimFiling))]
    assert claim is not None and (claim.status, claim.reactivations) == ("denied", 0)
    assert attempts == [("reactivate", "587")]  # the carrier's refusal is kept with the claim
