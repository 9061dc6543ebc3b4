"""A person's moves on a claim (approve, filed with protocol N, the carrier's answer, the payment, withdraw)
and the carrier's answers read by a filer's ``follow``: each checked against the lifecycle and audited.

A refused move raises :class:`ClaimError` naming the field to fix and leaves the claim as it was.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import Answer
from claims.models import Claim
from claims.service import Claims, move
from claims.vocabulary import NOT_FILED, TRANSITIONS, ClaimStatus

Verdict = Literal["approved", "partially_approved", "denied"]


class ClaimError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Actions:
    claims: Claims

    async def approve(self, session: AsyncSession, claim_id: int, *, actor: str, now: datetime) -> Claim:
        """The store's click: file it as soon as it is ready (now, if it is)."""
        claim = await _get(session, claim_id)
        if ClaimStatus(claim.status) not in (ClaimStatus.CANDIDATE, ClaimStatus.READY):
            raise ClaimError(
                "status", f"claim {claim_id} is {claim.status}: only a candidate or ready claim is approved"
            )
        claim.approved_at, claim.approved_by, claim.updated_at = now, actor, now
        return claim

    async def mark_filed(
        self, session: AsyncSession, claim_id: int, protocol: str, *, actor: str, now: datetime
    ) -> Claim:
        """A person filed it (the packet, by hand or on the portal): the carrier's protocol number."""
        protocol = protocol.strip()
        if not protocol or len(protocol) > 64:
            raise ClaimError(
                "protocol", f"protocol {protocol[:70]!r}: expected the carrier's number, 1 to 64 characters"
            )
        claim = await _get(session, claim_id)
        if ClaimStatus(claim.status) not in NOT_FILED:
            raise ClaimError("status", f"claim {claim_id} is {claim.status}: already filed or closed")
        claim.protocol, claim.filed_at = protocol, now
        claim.answer_due_at = self.claims.answer_due(claim.carrier, now)
        move(session, claim, ClaimStatus.FILED, now, actor=actor, note=f"filed by hand with protocol {protocol}")
        return claim

    async def record_answer(
        self,
        session: AsyncSession,
        claim_id: int,
        verdict: Verdict,
        *,
        amount: Decimal | None,
        message: str,
        actor: str,
        now: datetime,
    ) -> Claim:
        """The carrier's verdict; ``amount`` is what it approved (the claimed amount when fully approved)."""
        claim = await _get(session, claim_id)
        if ClaimStatus(claim.status) not in (ClaimStatus.FILED, ClaimStatus.ANSWERED):
            raise ClaimError("status", f"claim {claim_id} is {claim.status}: only a filed claim gets an answer")
        if amount is not None and amount < 0:
            raise ClaimError("amount", f"amount {amount}: expected R$ 0 or more")
        if verdict == "partially_approved" and amount is None:
            raise ClaimError("amount", "a partial approval needs the amount approved, in R$")
        claim.amount_approved = (
            Decimal(0) if verdict == "denied" else (amount if amount is not None else claim.amount_claimed)
        )
        claim.answered_at, claim.answer_message = now, message
        move(session, claim, ClaimStatus(verdict), now, actor=actor, note=message or verdict)
        return claim

    async def record_payment(
        self, session: AsyncSession, claim_id: int, amount: Decimal, *, paid_at: datetime, actor: str, now: datetime
    ) -> Claim:
        """The money arrived: the amount paid is reconciled against the amount approved."""
        claim = await _get(session, claim_id)
        if ClaimStatus(claim.status) not in (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED):
            raise ClaimError("status", f"claim {claim_id} is {claim.status}: only an approved claim is paid")
        if amount <= 0:
            raise ClaimError("amount", f"amount {amount}: expected the R$ paid, more than 0")
        claim.amount_paid, claim.paid_at = amount, paid_at
        gap = (claim.amount_approved or Decimal(0)) - amount
        note = f"R$ {amount} paid" + (f", R$ {gap} short of the approved amount" if gap > 0 else "")
        move(session, claim, ClaimStatus.PAID, now, actor=actor, note=note)
        return claim

    async def withdraw(self, session: AsyncSession, claim_id: int, reason: str, *, actor: str, now: datetime) -> Claim:
        if not reason.strip():
            raise ClaimError("reason", "withdrawing a claim needs a reason (e.g. the parcel turned up)")
        claim = await _get(session, claim_id)
        if ClaimStatus.WITHDRAWN not in TRANSITIONS[ClaimStatus(claim.status)]:
            raise ClaimError("status", f"claim {claim_id} is {claim.status}: it can no longer be withdrawn")
        move(session, claim, ClaimStatus.WITHDRAWN, now, actor=actor, note=reason)
        return claim

    def apply_answer(self, session: AsyncSession, claim: Claim, answer: Answer, now: datetime) -> bool:
        """What a filer's ``follow`` read: the verdict, then the payment; True when the claim moved."""
        status = ClaimStatus(claim.status)
        moved = False
        if status in (ClaimStatus.FILED, ClaimStatus.ANSWERED) and answer.answered and answer.upheld is not None:
            verdict = ClaimStatus.APPROVED if answer.upheld else ClaimStatus.DENIED
            claim.answered_at, claim.answer_message = answer.answered_at or now, answer.message
            claim.amount_approved = claim.amount_claimed if answer.upheld else Decimal(0)
            paid, claimed = answer.paid_amount, claim.amount_claimed
            if answer.upheld and paid is not None and claimed is not None and paid < claimed:
                verdict, claim.amount_approved = ClaimStatus.PARTIALLY_APPROVED, paid
            move(session, claim, verdict, now, note=f"carrier: {answer.message}"[:500])
            status, moved = verdict, True
        if status in (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED) and answer.paid_amount is not None:
            claim.amount_paid, claim.paid_at = answer.paid_amount, answer.paid_at or now
            move(session, claim, ClaimStatus.PAID, now, note=f"carrier reports R$ {answer.paid_amount} paid")
            moved = True
        return moved


async def _get(session: AsyncSession, claim_id: int) -> Claim:
    claim = await session.scalar(select(Claim).where(Claim.id == claim_id).with_for_update())
    if claim is None:
        raise LookupError(f"no claim {claim_id}")
    return claim
