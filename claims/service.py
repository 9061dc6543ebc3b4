"""Claims from incidents: candidates opened in the detector's transaction, reassessed on every change of
their parcel, withdrawn when a lost parcel turns up, expired (loudly) if a window ever closes unfiled.

:class:`Claims` is the feature's front door; :meth:`Claims.__call__` is the detector listener the
composition root registers, and :meth:`Claims.reassess` is what the deadline watch and every person's
action call to bring a claim's window, amount and status up to date.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import Status
from claims.assess import Assessment, ParcelFacts, assess
from claims.models import Claim, ClaimChange
from claims.policy import Policies, Policy, load_policies
from claims.vocabulary import NOT_FILED, ClaimStatus, check_move
from claims.windows import ParcelDates
from tracker.calendar import BusinessCalendar
from tracker.models import events_table, shipments_table
from tracker.signals import Moved, Raised
from tracker.vocabulary import Kind

ZELO = "zelo"
_RAISING = frozenset({"opened", "reopened", "escalated"})
_FOUND = frozenset(Status) - {Status.LOST, Status.PENDING}  # a lost parcel seen again: it turned up
_LOSS = frozenset({Kind.LOST.value})
_PARCEL_COLUMNS = (
    *("id", "carrier", "carrier_expected_delivery", "original_promise_date", "promised_delivery_date"),
    *("delivered_at", "posted_at", "destination_state", "service", "shipping_cost", "declared_value"),
    *("customer_name", "invoice_key"),
)
_ATTEMPT = (Status.DELIVERED.value, Status.DELIVERY_FAILED.value, Status.AWAITING_PICKUP.value)


@dataclass
class Claims:
    policies: Policies = field(default_factory=load_policies)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)

    async def __call__(self, session: AsyncSession, raised: list[Raised], moved: list[Moved], now: datetime) -> None:
        """The detector's listener: claimable incidents open candidates, parcels that moved are reassessed."""
        claimable = [r for r in raised if r.action in _RAISING and self.policies.claimable(r.kind)]
        touched = {m.shipment_id for m in moved} | {r.shipment_id for r in claimable}
        if not touched:
            return
        existing = await _claims_of(session, touched)
        # the facts of the parcels with a claim or a claimable incident, not of every parcel that moved
        facts = await parcel_facts(
            session, {c.shipment_id for c in existing.values()} | {r.shipment_id for r in claimable}
        )
        opening = [
            (r, self._new(session, r, facts[r.shipment_id], existing, now)) for r in claimable if r.shipment_id in facts
        ]
        opened = [(r, new) for r, new in opening if new is not None]
        if opened:
            await session.flush()  # the new claims' ids, in one batched INSERT … RETURNING
        for r, (claim, a) in opened:
            session.add(_change(claim.id, now, "opened", None, ClaimStatus.CANDIDATE, f"from incident {r.kind}"))
            self._settle(session, claim, a, now)
        found = {m.shipment_id for m in moved if m.previous is Status.LOST and m.status in _FOUND}
        for claim in existing.values():
            if claim.shipment_id in found and claim.kind in _LOSS and claim.status in _WITHDRAWABLE:
                move(
                    session,
                    claim,
                    ClaimStatus.WITHDRAWN,
                    now,
                    note="the parcel turned up: the carrier scanned it again",
                )
            elif claim.shipment_id in facts:
                self._reassess(session, claim, facts[claim.shipment_id], now)

    def _new(
        self,
        session: AsyncSession,
        r: Raised,
        facts: tuple[str, ParcelFacts],
        existing: dict[tuple[int, str], Claim],
        now: datetime,
    ) -> tuple[Claim, Assessment] | None:
        """The candidate ``r`` opens (added to the session, not yet flushed) and its assessment; ``None`` if the
        shipment already has a claim of its type."""
        carrier, parcel = facts
        claimable = self.policies.claimable(r.kind)
        assert claimable is not None
        key = (r.shipment_id, claimable.claim.value)
        if key in existing:  # one claim per (shipment, claim type), ever: a second incident joins the first
            return None
        policy = self.policies.for_shipment(carrier, parcel.service)
        a = assess(parcel, claimable, policy, self.calendar, now)
        claim = Claim(
            shipment_id=r.shipment_id,
            incident_id=r.incident_id,
            claim_type=claimable.claim.value,
            kind=r.kind.value,
            carrier=carrier,
            status=ClaimStatus.CANDIDATE.value,
            motivo=claimable.motivo,
            manifestation=claimable.manifestation.value,
            filer=policy.filer,
            filing=policy.filing,
            opens_at=a.window.opens_at,
            closes_at=a.window.closes_at,
            missing=a.missing,
            amount_claimed=a.amount.value,
            amount_rule=a.amount.rule,
            attempts=0,
            reactivations=0,
            created_at=now,
            updated_at=now,
        )
        session.add(claim)
        existing[key] = claim
        return claim, a

    def answer_due(self, carrier: str, now: datetime, policy: Policy | None = None) -> datetime:
        """When the carrier's answer to a claim filed ``now`` is due: its policy's business days later."""
        days = (policy or self.policies.for_shipment(carrier, None)).answer_business_days
        return datetime.combine(self.calendar.add_business_days(now.date(), days), now.timetz())

    async def reassess(self, session: AsyncSession, claim_ids: Iterable[int], now: datetime) -> list[Claim]:
        """Bring unfiled claims up to date with their parcel and the clock; the claims, as they now stand."""
        claims = list(await session.scalars(select(Claim).where(Claim.id.in_(list(claim_ids))).with_for_update()))
        facts = await parcel_facts(session, {c.shipment_id for c in claims})
        for claim in claims:
            if claim.shipment_id in facts:
                self._reassess(session, claim, facts[claim.shipment_id], now)
        return claims

    def _reassess(self, session: AsyncSession, claim: Claim, facts: tuple[str, ParcelFacts], now: datetime) -> None:
        if ClaimStatus(claim.status) not in NOT_FILED:
            return
        carrier, parcel = facts
        claimable = self.policies.claimable(claim.kind)
        if claimable is None:
            return
        a = assess(parcel, claimable, self.policies.for_shipment(carrier, parcel.service), self.calendar, now)
        claim.opens_at, claim.closes_at, claim.missing = a.window.opens_at, a.window.closes_at, a.missing
        claim.amount_claimed, claim.amount_rule = a.amount.value, a.amount.rule
        self._settle(session, claim, a, now)

    def _settle(self, session: AsyncSession, claim: Claim, a: Assessment, now: datetime) -> None:
        """candidate ⇄ ready as the evidence and the window allow; expired once the window closed unfiled."""
        status = ClaimStatus(claim.status)
        if status is ClaimStatus.FILING:
            return  # a filer holds it; its answer decides
        if a.window.expired(now):
            move(session, claim, ClaimStatus.EXPIRED, now, note=f"window closed {a.window.closes_at:%d/%m/%Y} unfiled")
        elif a.on_time:
            move(session, claim, ClaimStatus.WITHDRAWN, now, note="first attempt or pickup on time (Correios 530)")
        elif a.missing or a.window.too_early(now):
            if status is not ClaimStatus.CANDIDATE:
                move(session, claim, ClaimStatus.CANDIDATE, now, note=_why_waiting(a))
        elif status is ClaimStatus.CANDIDATE:
            move(session, claim, ClaimStatus.READY, now, note="evidence complete, window open")


_WITHDRAWABLE = frozenset(
    {ClaimStatus.CANDIDATE, ClaimStatus.READY, ClaimStatus.FILING, ClaimStatus.FILED}
)  # a loss claim already approved is settled with the carrier, not withdrawn


def _why_waiting(a: Assessment) -> str:
    if a.missing:
        return f"evidence missing: {', '.join(a.missing)}"
    return f"too early: the window opens {a.window.opens_at:%d/%m/%Y}"


def move(
    session: AsyncSession, claim: Claim, to: ClaimStatus, now: datetime, *, actor: str = ZELO, note: str | None = None
) -> None:
    """Move ``claim`` to ``to`` (checked against the lifecycle) and write the move to its audit trail."""
    current = ClaimStatus(claim.status)
    check_move(current, to)
    claim.status, claim.updated_at = to.value, now
    session.add(_change(claim.id, now, to.value, current, to, note, actor))


def _change(
    claim_id: int,
    at: datetime,
    action: str,
    before: ClaimStatus | None,
    after: ClaimStatus | None,
    note: str | None,
    actor: str = ZELO,
) -> ClaimChange:
    return ClaimChange(
        claim_id=claim_id,
        at=at,
        actor=actor,
        action=action,
        from_status=before.value if before else None,
        to_status=after.value if after else None,
        note=note,
    )


async def _claims_of(session: AsyncSession, shipment_ids: set[int]) -> dict[tuple[int, str], Claim]:
    query = select(Claim).where(Claim.shipment_id.in_(shipment_ids)).with_for_update()
    return {(c.shipment_id, c.claim_type): c for c in await session.scalars(query)}


async def parcel_facts(session: AsyncSession, shipment_ids: set[int]) -> dict[int, tuple[str, ParcelFacts]]:
    """Each shipment's carrier and the facts its claims are assessed on."""
    if not shipment_ids:
        return {}
    e, s = events_table.c, shipments_table.c
    first_attempt = (
        select(func.min(e.occurred_at))
        .where(e.shipment_id == s.id, e.status.in_(_ATTEMPT), e.voided.is_(False))
        .scalar_subquery()
    )
    query = select(*(s[c] for c in _PARCEL_COLUMNS), first_attempt.label("first_attempt")).where(
        s.id.in_(shipment_ids)
    )  # the columns alone: no shipment objects in the session
    out: dict[int, tuple[str, ParcelFacts]] = {}
    for row in await session.execute(query):
        dates = ParcelDates(
            expected=row.carrier_expected_delivery or row.original_promise_date or row.promised_delivery_date,
            delivered_at=row.delivered_at,
            first_attempt_at=row.first_attempt,
            posted_at=row.posted_at,
            uf=row.destination_state,
        )
        facts = ParcelFacts(
            dates, row.service, row.shipping_cost, row.declared_value, row.customer_name, row.invoice_key
        )
        out[row.id] = (row.carrier, facts)
    return out
