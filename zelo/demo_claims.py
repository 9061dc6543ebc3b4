"""The demo's claims: the store's click on each claim that is ready, the filing and following jobs as the
schedule runs them, and the summary a logistics manager reads (claims per status, refusals with the
carrier's code, the closest deadlines, R$ at stake and recovered per carrier)."""

from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from claims import claims_of, follower_of
from claims.amounts import brl
from claims.lifecycle import Actions
from claims.models import Claim
from claims.vocabulary import ClaimStatus
from claims.windows import business_days_left
from tracker.runtime import Runtime

STORE = "loja-demo"  # who approves the claims, as a person of the store would
REACTIVATION = "a foto do cliente mostra a caixa amassada na entrega (check-in)"


async def approve_ready(rt: Runtime, now: datetime) -> int:
    """The store's one click on every claim that waits for it (``filing = "approval"`` in the policy)."""
    actions = Actions(claims_of(rt))
    async with rt.sessions() as session, session.begin():
        waiting = select(Claim.id).where(
            Claim.status == ClaimStatus.READY.value, Claim.filing == "approval", Claim.approved_at.is_(None)
        )
        ids = list(await session.scalars(waiting))
        for claim_id in ids:
            await actions.approve(session, claim_id, actor=STORE, now=now)
    return len(ids)


async def reactivate_denied(rt: Runtime, now: datetime) -> int:
    """The store contests each denial once, with its evidence (the sandbox upholds damage on a second look)."""
    async with rt.sessions() as session:
        denied = select(Claim.id).where(Claim.status == ClaimStatus.DENIED.value, Claim.reactivations == 0)
        ids = list(await session.scalars(denied))
    for claim_id in ids:
        await follower_of(rt).reactivate(claim_id, REACTIVATION, actor=STORE, now=now)
    return len(ids)


async def claims_summary(console: Console, rt: Runtime) -> None:
    async with rt.sessions() as session:
        claims = list(await session.scalars(select(Claim).order_by(Claim.closes_at)))
    now = rt.clock.now()
    per_status = Counter(c.status for c in claims)
    filed = sum(c.filed_at is not None for c in claims)
    answered = sum(c.answered_at is not None for c in claims)
    console.print(
        f"\n[bold]Claims[/bold]: {len(claims)} opened from incidents, {filed} filed with the carrier, "
        f"{answered} answered, {per_status[ClaimStatus.PAID]} paid, {per_status[ClaimStatus.REFUSED]} refused, "
        f"{per_status[ClaimStatus.EXPIRED]} expired (a window closed unfiled: this must stay 0)."
    )
    table = Table("status", "claims", "kinds", title="Claims per status")
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for c in claims:
        kinds[c.status][c.kind] += 1
    for status, n in per_status.most_common():
        table.add_row(status, str(n), ", ".join(f"{k} {m}" for k, m in kinds[status].most_common()))
    console.print(table)
    refusals = Counter((c.refusal_code, c.refusal_reason) for c in claims if c.status == ClaimStatus.REFUSED.value)
    for (code, reason), n in refusals.most_common():
        console.print(f"  refused ×{n}: carrier code {code}: {reason}")
    money: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for c in claims:
        if c.status in (ClaimStatus.WITHDRAWN.value, ClaimStatus.REFUSED.value, ClaimStatus.DENIED.value):
            continue
        money[c.carrier][0] += c.amount_claimed or 0
        money[c.carrier][1] += c.amount_paid or 0
    table = Table("carrier", "R$ at stake", "R$ recovered", title="Money per carrier")
    for carrier, (stake, paid) in sorted(money.items()):
        table.add_row(carrier, brl(stake) or "0,00", brl(paid) or "0,00")
    console.print(table)
    unfiled = [c for c in claims if ClaimStatus(c.status) in (ClaimStatus.CANDIDATE, ClaimStatus.READY)][:5]
    if unfiled:
        calendar = claims_of(rt).calendar
        soonest = ", ".join(f"claim {c.id} in {business_days_left(now, c.closes_at, calendar)} business days"
                            for c in unfiled)  # fmt: skip
        console.print(f"Closest deadlines (not filed yet): {soonest}")
