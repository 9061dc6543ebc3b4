"""Filing: hand ready claims to their filer in batches and record what the carrier answered.

Two transactions around the carrier call. The first moves each claim to ``filing`` (with a lease, like the
poller's); the second records each answer. A process killed between the carrier's answer and the second
commit leaves the claim in ``filing``; once the lease passes it is filed again and the carrier answers
"already registered" (Correios 900) with the protocol it holds, so the parcel has exactly one claim at the
carrier. Filers classify every answer: filed, refused for good, retry later, or fall back to another filer.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import ClaimFiler, ClaimRequest, Filing, Manifestation, Outcome
from claims.deadlines import alert_for
from claims.lifecycle import Actions, ClaimError
from claims.models import Claim, ClaimFiling
from claims.service import Claims, move
from claims.vocabulary import ClaimStatus
from tracker.models import Shipment
from tracker.signals import Alert, AlertSink

log = logging.getLogger(__name__)
MANUAL = "manual"  # filed by a person: the packet, then "filed with protocol N"
LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)


class FilerSource(Protocol):
    """Where the filers come from: the filer ``name`` of ``carrier``, on the claim's carrier account."""

    async def filer(self, name: str, carrier: str, account_id: int | None) -> ClaimFiler: ...


@dataclass
class FilingReport:
    filed: int = 0
    refused: int = 0
    retried: int = 0
    fell_back: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Filer:
    sessions: async_sessionmaker[AsyncSession]
    claims: Claims
    source: FilerSource
    reply_email: str  # where the carrier answers (Correios' emailResposta)
    alert: AlertSink | None = None  # a refusal alerts ops at once
    chunk: int = 500

    async def file_due(self, now: datetime, claim_ids: Sequence[int] | None = None) -> FilingReport:
        """File every claim that is ready (and approved where its policy asks), plus those whose filing lease
        passed (of ``claim_ids`` only, when given); what happened."""
        report = FilingReport()
        if (problem := _reply_problem(self.reply_email)) is not None:  # never let a setting refuse every claim
            log.error("claims are not filed: %s", problem)
            report.errors.append(problem)
            return report
        taken = await self._take(now, claim_ids)
        groups: dict[tuple[str, str, int | None], list[tuple[Claim, Shipment]]] = defaultdict(list)
        for claim, shipment in taken:
            groups[(claim.filer, claim.carrier, shipment.carrier_account_id)].append((claim, shipment))
        for (name, carrier, account_id), batch in groups.items():
            try:
                filer = await self.source.filer(name, carrier, account_id)
            except Exception as e:  # no such filer for this carrier: a person files it
                answers = [Filing(c.id, Outcome.FALL_BACK, reason=str(e)) for c, _ in batch]
            else:
                answers = await self._call(filer, [self._request(c, s) for c, s in batch])
            await self._record(answers, name, now, report)
        return report

    async def _take(self, now: datetime, claim_ids: Sequence[int] | None) -> list[tuple[Claim, Shipment]]:
        c = Claim
        due = or_(
            and_(
                c.status == ClaimStatus.READY.value,
                c.filer != MANUAL,
                or_(c.filing == "auto", c.approved_at.is_not(None)),
                or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
                c.opens_at <= now,
            ),
            and_(c.status == ClaimStatus.FILING.value, c.updated_at <= now - LEASE),
        )
        query = select(Claim, Shipment).join(Shipment, Shipment.id == Claim.shipment_id).where(due)
        if claim_ids is not None:
            query = query.where(Claim.id.in_(list(claim_ids)))
        query = query.order_by(Claim.closes_at).limit(self.chunk).with_for_update(of=Claim, skip_locked=True)
        async with self.sessions() as session, session.begin():
            rows = [(claim, shipment) for claim, shipment in (await session.execute(query)).all()]
            # the amount of a delay grows while the parcel is out: assess each once more before it is filed
            await self.claims.reassess(session, [c.id for c, _ in rows if c.status == ClaimStatus.READY.value], now)
            rows = [(c, s) for c, s in rows if c.status in (ClaimStatus.READY.value, ClaimStatus.FILING.value)]
            for claim, _ in rows:
                if claim.status == ClaimStatus.FILING.value:
                    claim.updated_at = now  # a new lease: the last filer died before recording its answer
                else:
                    move(session, claim, ClaimStatus.FILING, now, note=f"handed to {claim.filer}")
                claim.attempts += 1
        return rows

    def _request(self, claim: Claim, shipment: Shipment) -> ClaimRequest:
        return ClaimRequest(
            claim_id=claim.id,
            tracking_code=shipment.tracking_code,
            motivo=claim.motivo,
            manifestation=Manifestation(claim.manifestation),
            packaging="C",
            addressee_name=shipment.customer_name or "",
            reply_email=self.reply_email,
            note=f"{claim.claim_type} {shipment.tracking_code}: {claim.amount_rule}",
        )

    async def _call(self, filer: ClaimFiler, requests: Sequence[ClaimRequest]) -> list[Filing]:
        answers: list[Filing] = []
        for start in range(0, len(requests), max(1, filer.batch_limit)):
            batch = requests[start : start + filer.batch_limit]
            try:
                got = {a.claim_id: a for a in await filer.file(batch)}
            except Exception as e:  # a transport fault: nothing is known to be filed, try again later
                log.warning("claim filer %s failed for %d claims: %s", filer.name, len(batch), e)
                got = {}
                reason = f"{type(e).__name__}: {e}"
            else:
                reason = "the filer gave no answer for this claim"
            answers += [got.get(r.claim_id) or Filing(r.claim_id, Outcome.RETRY, reason=reason) for r in batch]
        return answers

    async def _record(self, answers: list[Filing], filer: str, now: datetime, report: FilingReport) -> None:
        refusals: list[Alert] = []
        async with self.sessions() as session, session.begin():
            claims = {
                c.id: c
                for c in await session.scalars(
                    select(Claim).where(Claim.id.in_([a.claim_id for a in answers])).with_for_update()
                )
            }
            for a in answers:
                claim = claims.get(a.claim_id)
                if claim is None or claim.status != ClaimStatus.FILING.value:
                    continue  # withdrawn meanwhile, or recorded by another process
                session.add(
                    ClaimFiling(
                        claim_id=claim.id, at=now, filer=filer, operation="file", outcome=a.outcome.value,
                        protocol=a.protocol, code=a.code, reason=a.reason,
                    )
                )  # fmt: skip
                self._apply(session, claim, a, now, report)
                if a.outcome is Outcome.REFUSED:
                    refusals.append(alert_for(claim, "refused", "high", "refused", code=a.code, reason=a.reason))
            if refusals and self.alert is not None:
                await self.alert(session, refusals, now)

    def _apply(self, session: AsyncSession, claim: Claim, a: Filing, now: datetime, report: FilingReport) -> None:
        if a.outcome in (Outcome.FILED, Outcome.ALREADY_FILED):
            claim.protocol, claim.filed_at = a.protocol, now
            claim.answer_due_at = self.claims.answer_due(claim.carrier, now)
            claim.next_attempt_at = None
            move(session, claim, ClaimStatus.FILED, now, note=f"protocol {a.protocol} ({a.outcome})")
            report.filed += 1
        elif a.outcome is Outcome.REFUSED:
            claim.refusal_code, claim.refusal_reason = a.code, a.reason
            move(session, claim, ClaimStatus.REFUSED, now, note=f"carrier code {a.code}: {a.reason}")
            report.refused += 1
        elif a.outcome is Outcome.FALL_BACK:
            note = f"{claim.filer} cannot file it ({a.code or '-'}: {a.reason}); a person files it from the packet"
            claim.filer = MANUAL
            move(session, claim, ClaimStatus.READY, now, note=note)
            report.fell_back += 1
        else:
            claim.next_attempt_at = now + min(MAX_BACKOFF, timedelta(minutes=2 ** min(claim.attempts, 12)))
            move(
                session,
                claim,
                ClaimStatus.READY,
                now,
                note=f"retry after {claim.next_attempt_at:%d/%m %H:%M}: {a.reason}",
            )
            report.retried += 1


def _reply_problem(address: str) -> str | None:
    """Why the carrier could not answer to ``address`` (Correios refuses the claim: 240/241), or None."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return (
            f"the reply address {address!r} (ZELO_REPLY_TO, else ZELO_EMAIL_FROM) is not an e-mail address the "
            "carrier can answer to: set ZELO_REPLY_TO to the store's address"
        )
    return None


@dataclass
class Follower:
    """Reads the carrier's answers to filed claims (``acompanha``) and moves them: verdict, then payment."""

    sessions: async_sessionmaker[AsyncSession]
    actions: Actions
    source: FilerSource
    chunk: int = 500

    async def follow(self, now: datetime, claim_ids: Sequence[int] | None = None) -> int:
        """Follow every filed claim (or those given); how many moved."""
        waiting = (ClaimStatus.FILED.value, ClaimStatus.ANSWERED.value, ClaimStatus.APPROVED.value,
                   ClaimStatus.PARTIALLY_APPROVED.value)  # fmt: skip
        query = (
            select(Claim.id, Claim.filer, Claim.carrier, Claim.protocol, Shipment.carrier_account_id)
            .join(Shipment, Shipment.id == Claim.shipment_id)
            .where(Claim.status.in_(waiting), Claim.protocol.is_not(None), Claim.filer != MANUAL)
            .order_by(Claim.id)
        )
        if claim_ids is not None:
            query = query.where(Claim.id.in_(list(claim_ids)))
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        groups: dict[tuple[str, str, int | None], dict[str, int]] = defaultdict(dict)
        for r in rows:
            groups[(r.filer, r.carrier, r.carrier_account_id)][r.protocol] = r.id
        moved = 0
        for (name, carrier, account_id), by_protocol in groups.items():
            try:
                filer = await self.source.filer(name, carrier, account_id)
                protocols = list(by_protocol)
                answers = []
                for start in range(0, len(protocols), max(1, filer.batch_limit)):
                    answers += await filer.follow(protocols[start : start + filer.batch_limit])
            except Exception as e:  # the carrier is down: the next round asks again
                log.warning("following %d claims with %s failed: %s", len(by_protocol), name, e)
                continue
            async with self.sessions() as session, session.begin():
                for answer in answers:
                    claim_id = by_protocol.get(answer.protocol)
                    claim = await session.get(Claim, claim_id, with_for_update=True) if claim_id else None
                    if claim is not None and self.actions.apply_answer(session, claim, answer, now):
                        moved += 1
        return moved

    async def reactivate(self, claim_id: int, reason: str, *, actor: str, now: datetime) -> Claim:
        """Reopen a denied claim with the store's reason, once (the policy's ``reactivations``)."""
        if not reason.strip():
            raise ClaimError("reason", "a reactivation needs the store's reason")
        async with self.sessions() as session:
            claim = await session.get(Claim, claim_id)
            shipment = await session.get(Shipment, claim.shipment_id) if claim else None
        if claim is None or shipment is None:
            raise LookupError(f"no claim {claim_id}")
        policy = self.actions.claims.policies.for_shipment(claim.carrier, shipment.service)
        if claim.status != ClaimStatus.DENIED.value:
            raise ClaimError("status", f"claim {claim_id} is {claim.status}: only a denied claim is reactivated")
        if claim.reactivations >= policy.reactivations:
            raise ClaimError("status", f"claim {claim_id} was reactivated {claim.reactivations} time(s) already")
        answer = Filing(claim_id, Outcome.FILED, claim.protocol, reason="reactivated by hand")
        if claim.filer != MANUAL and claim.protocol:
            filer = await self.source.filer(claim.filer, claim.carrier, shipment.carrier_account_id)
            answer = await filer.reactivate(claim.protocol, claim_id, reason)
        async with self.sessions() as session, session.begin():
            claim = await session.get(Claim, claim_id, with_for_update=True)
            assert claim is not None
            session.add(
                ClaimFiling(
                    claim_id=claim_id, at=now, filer=claim.filer, operation="reactivate", outcome=answer.outcome.value,
                    protocol=answer.protocol, code=answer.code, reason=answer.reason,
                )
            )  # fmt: skip
            if answer.outcome not in (Outcome.FILED, Outcome.ALREADY_FILED):
                refused = ClaimError("status", f"the carrier would not reactivate it ({answer.code}: {answer.reason})")
            else:
                refused = None
                claim.reactivations += 1
                claim.answered_at = claim.answer_message = None
                claim.answer_due_at = self.actions.claims.answer_due(claim.carrier, now, policy)
                move(session, claim, ClaimStatus.FILED, now, actor=actor, note=f"reactivated: {reason}")
        if refused is not None:  # raised once the attempt is committed: the carrier's answer is kept
            raise refused
        return claim
