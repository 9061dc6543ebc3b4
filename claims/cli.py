"""``zelo claims``: the claims and their deadlines, one in detail, its packet, filing it now, and a person's moves
(approve, filed with protocol N, the carrier's answer, the payment, withdraw, reactivate). Times in Brasília,
the carrier's days."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, cast

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from claims.vocabulary import ClaimStatus
from tracker.commands import console, fail, open_runtime, run, settings
from tracker.vocabulary import Kind

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession

    from claims.lifecycle import Actions, Verdict
    from claims.models import Claim
    from tracker.runtime import Runtime

claims_app = typer.Typer(help="Carrier claims: deadlines, packets, filing and the carrier's answers.",
                         no_args_is_help=True)  # fmt: skip
ACTOR = "cli"
_SPAN = re.compile(r"(\d{1,4})([dh])")
_AMOUNT = re.compile(r"\d{1,10}(\.\d{1,2})?")
ClaimId = Annotated[int, typer.Argument(metavar="ID", min=1, help="The claim's id (zelo claims list).")]


def span(value: str) -> timedelta:
    """``7d`` or ``48h``."""
    found = _SPAN.fullmatch(value.strip())
    if found is None:
        raise fail(f"--due {value!r}: expected days or hours, like 7d or 48h", 2)
    n = int(found[1])
    return timedelta(days=n) if found[2] == "d" else timedelta(hours=n)


def amount(value: str, option: str) -> Decimal:
    if not _AMOUNT.fullmatch(value.strip()):
        raise fail(f"{option} {value!r}: expected R$ with a dot for the cents, like 123.45", 2)
    return Decimal(value.strip())


@claims_app.command("list")
def claims_list(
    ctx: typer.Context,
    due: Annotated[str | None, typer.Option(metavar="7d|48h",
                                            help="Only claims not filed yet whose window closes within this.")] = None,
    status: Annotated[ClaimStatus | None, typer.Option(metavar="STATUS", show_choices=False,
                                                       help=f"Only this status: {', '.join(ClaimStatus)}.")] = None,
    carrier: Annotated[str | None, typer.Option(metavar="CARRIER", help="Only this carrier.")] = None,
    kind: Annotated[Kind | None, typer.Option(metavar="KIND", show_choices=False,
                                              help="Only claims from this incident kind.")] = None,
    limit: Annotated[int, typer.Option(metavar="N", min=1, max=10_000, help="Show at most N.")] = 50,
) -> None:  # fmt: skip
    """Claims, newest first (with --due: the closest deadline first), with their window and amounts."""
    from sqlalchemy import func, select

    from claims import claims_of
    from claims.api import claim_fields, claims_query
    from claims.models import Claim

    within = span(due) if due is not None else None
    loaded = settings()

    async def go() -> tuple[list[dict[str, Any]], int]:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            now = rt.clock.now()
            query = claims_query(status=status, carrier=carrier, kind=kind, unfiled=within is not None)
            if within is not None:
                query = query.where(Claim.closes_at <= now + within).order_by(None).order_by(Claim.closes_at)
            total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
            rows = (await session.execute(query.limit(limit))).all()
            return [claim_fields(c, code, claims_of(rt), now) for c, code in rows], total or 0

    rows, total = run(go())
    if not rows:
        console.print("no claims match" if due or status or carrier or kind else "no claims yet")
        return
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    for name in (
        "claim\nkind",
        "status",
        "tracking code\nprotocol",
        "R$ claimed\napproved/paid",
        "window closes\nleft",
    ):
        table.add_column(name, no_wrap=True)
    for c in rows:
        settled = " / ".join(_money(c[k]) for k in ("amount_approved", "amount_paid") if c[k] is not None)
        left = c["business_days_left"]
        left_text = "" if left is None else f"[bold red]{left} bd[/bold red]" if left <= 5 else f"{left} bd"
        table.add_row(
            str(c["id"]),
            f"{c['claim_type']}\n[dim]{c['kind']}[/dim]",
            c["status"],
            f"{c['tracking_code']}\n[dim]{escape(c['protocol'] or '')}[/dim]",
            f"{_money(c['amount_claimed'])}\n{settled}",
            f"{_when(c['closes_at'])}\n{left_text}",
        )
    console.print(table)
    console.print(f"showing {len(rows)} of {total}")


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _when(value: datetime | None) -> str:
    from claims.windows import CARRIER_ZONE

    return "-" if value is None else f"{value.astimezone(CARRIER_ZONE):%d/%m/%Y %H:%M}"


@claims_app.command("show")
def claims_show(ctx: typer.Context, claim_id: ClaimId) -> None:
    """One claim: its facts, window, amounts, filings and history (the customer masked)."""
    from claims.evidence import gather

    loaded = settings()

    async def go() -> Any:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            try:
                return await gather(session, claim_id, "ops")
            except LookupError:
                raise fail(f"no claim {claim_id}") from None

    e = run(go())
    c, p, a = e.claim, e.parcel, e.addressee
    lines = [
        f"claim {c.id}: {c.claim_type} ({c.kind}), {c.status}, filer {c.filer} ({c.filing})",
        f"parcel {p.tracking_code} {p.carrier} {p.service or ''}, order {p.order_number or p.external_id or '-'}, "
        f"NF-e {p.invoice_key or '-'}",
        f"addressee {a.name or '-'} {a.city or ''}/{a.state or ''}, {a.email or '-'}, {a.phone or '-'}",
        f"window {_when(c.opens_at)} to {_when(c.closes_at)}; motivo {c.motivo} {c.manifestation}",
        f"claimed {_money(c.amount_claimed)} ({c.amount_rule}); approved {_money(c.amount_approved)}; "
        f"paid {_money(c.amount_paid)}",
        f"protocol {c.protocol or '-'}; filed {_when(c.filed_at)}; answer due {_when(c.answer_due_at)}",
    ]
    if c.missing:
        lines.append(f"missing evidence: {', '.join(map(str, c.missing))}")
    if c.refusal_code or c.refusal_reason:
        lines.append(f"refused by the carrier: {c.refusal_code or '-'}: {c.refusal_reason or '-'}")
    lines.append(f"evidence: {len(e.events)} events, {len(e.messages)} messages sent, "
                 f"check-in {e.checkin.answer if e.checkin else 'none'}")  # fmt: skip
    for line in lines:
        console.print(escape(line))
    for f in e.filings:
        console.print(escape(f"  {_when(f.at)} {f.filer} {f.operation}: {f.outcome} {f.protocol or ''} "
                             f"{f.code or ''} {f.reason}"))  # fmt: skip
    for h in e.history:
        console.print(escape(f"  {_when(h.at)} {h.actor}: {h.from_status or '-'} -> {h.to_status} {h.note or ''}"))
    console.print(f"packet: zelo claims packet {c.id} --pdf FILE")


@claims_app.command("packet")
def claims_packet(
    ctx: typer.Context,
    claim_id: ClaimId,
    pdf: Annotated[Path | None, typer.Option("--pdf", metavar="FILE", help="Write the PDF there.")] = None,
    html: Annotated[Path | None, typer.Option("--html", metavar="FILE", help="Write the HTML there.")] = None,
) -> None:
    """The claim packet for the carrier (pt-BR): to files, or the HTML on standard output."""
    loaded = settings()

    async def go() -> None:
        async with open_runtime(ctx, loaded) as rt:
            written = await _write_packet(rt, claim_id, pdf=pdf, html=html)
        if pdf is None and html is None:
            print(written)  # the HTML itself
        else:
            console.print(f"wrote {escape(written)}")

    run(go())


async def _write_packet(rt: "Runtime", claim_id: int, *, pdf: Path | None, html: Path | None) -> str:
    """Write the packet's PDF and/or HTML; what was written (the HTML itself when neither file is given)."""
    import asyncio

    from claims import packet
    from claims.evidence import gather

    async with rt.sessions() as session:
        try:
            e = await gather(session, claim_id, "carrier")
        except LookupError:
            raise fail(f"no claim {claim_id}") from None
    photo = packet.photo_of(e, Path(rt.settings.uploads_dir))
    written = []
    try:
        if pdf is not None:
            await asyncio.to_thread(pdf.write_bytes, await asyncio.to_thread(packet.pdf, e, photo))
            written.append(str(pdf))
        if html is not None:
            await asyncio.to_thread(html.write_text, packet.html(e, photo), encoding="utf-8")
            written.append(str(html))
    except OSError as exc:
        raise fail(f"cannot write the packet: {exc}") from None
    return ", ".join(written) if written else packet.html(e, photo)


@claims_app.command("file")
def claims_file(
    ctx: typer.Context,
    claim_id: ClaimId,
    out: Annotated[Path, typer.Option(metavar="DIR", help="Where a manual claim's packet is written.")] = Path("."),
) -> None:
    """File one claim now through its filer (approving it if its policy waits for approval); for a claim a person
    files, write its packet and say how to record the protocol."""
    from claims import filer_of
    from claims.models import Claim

    loaded = settings()

    async def go() -> None:
        async with open_runtime(ctx, loaded) as rt:
            async with rt.sessions() as session, session.begin():
                claim = await session.get(Claim, claim_id)
                if claim is None:
                    raise fail(f"no claim {claim_id}")
                status = ClaimStatus(claim.status)
                if status is ClaimStatus.CANDIDATE:
                    why = f"evidence missing: {', '.join(map(str, claim.missing))}" if claim.missing else (
                        f"too early: its window opens {_when(claim.opens_at)}")  # fmt: skip
                    raise fail(f"claim {claim_id} is not ready to file ({why})")
                if status not in (ClaimStatus.READY, ClaimStatus.FILING):
                    raise fail(f"claim {claim_id} is {claim.status}: nothing to file")
                manual = claim.filer == "manual"
                if not manual and claim.filing == "approval" and claim.approved_at is None:
                    await _actions(rt).approve(session, claim_id, actor=ACTOR, now=rt.clock.now())
            if manual:
                return await _manual(rt, claim_id, out)
            report = await filer_of(rt).file_due(rt.clock.now(), [claim_id])
            async with rt.sessions() as session:
                claim = await session.get(Claim, claim_id)
            assert claim is not None
            if claim.status == ClaimStatus.FILED:
                console.print(f"filed: protocol {escape(claim.protocol or '-')}")
            elif claim.status == ClaimStatus.REFUSED:
                console.print(escape(f"refused by the carrier: {claim.refusal_code}: {claim.refusal_reason}"))
            elif claim.filer == "manual":
                console.print(f"{claim_id} fell back to a person ({report.fell_back} fell back)")
                await _manual(rt, claim_id, out)
            elif report.errors:
                raise fail("not filed: " + "; ".join(report.errors))
            else:
                console.print(f"not filed yet: retry after {_when(claim.next_attempt_at)} ({escape(claim.status)})")

    run(go())


def _actions(rt: "Runtime") -> "Actions":
    from claims import claims_of
    from claims.lifecycle import Actions

    return Actions(claims_of(rt))


async def _manual(rt: "Runtime", claim_id: int, out: Path) -> None:
    target = out / f"reclamacao-ZELO-{claim_id}.pdf"
    await _write_packet(rt, claim_id, pdf=target, html=None)
    console.print(f"a person files this claim: the packet is {escape(str(target))}")
    console.print(f"then record the carrier's protocol: zelo claims filed {claim_id} PROTOCOL")


Move: TypeAlias = "Callable[[AsyncSession, Actions, datetime], Awaitable[Claim]]"


def _move(ctx: typer.Context, claim_id: int, act: Move) -> None:
    """Run a person's move, ``act(session, actions, now)``, in one transaction; print where the claim stands."""
    from claims.lifecycle import ClaimError

    loaded = settings()

    async def go() -> Any:
        async with open_runtime(ctx, loaded) as rt:
            try:
                async with rt.sessions() as session, session.begin():
                    return await act(session, _actions(rt), rt.clock.now())
            except ClaimError as exc:
                raise fail(f"{exc.field}: {exc}") from None
            except LookupError:
                raise fail(f"no claim {claim_id}") from None

    claim = run(go())
    console.print(
        escape(f"claim {claim.id}: {claim.status}" + (f", protocol {claim.protocol}" if claim.protocol else ""))
    )


@claims_app.command("filed")
def claims_filed(
    ctx: typer.Context, claim_id: ClaimId, protocol: Annotated[str, typer.Argument(help="The carrier's protocol.")]
) -> None:
    """A person filed it: record the carrier's protocol number."""
    _move(ctx, claim_id, lambda s, a, now: a.mark_filed(s, claim_id, protocol, actor=ACTOR, now=now))


@claims_app.command("approve")
def claims_approve(ctx: typer.Context, claim_id: ClaimId) -> None:
    """The store's approval: file it as soon as it is ready."""
    _move(ctx, claim_id, lambda s, a, now: a.approve(s, claim_id, actor=ACTOR, now=now))


@claims_app.command("answer")
def claims_answer(
    ctx: typer.Context,
    claim_id: ClaimId,
    verdict: Annotated[str, typer.Argument(metavar="approved|partially_approved|denied")],
    amount_: Annotated[str | None, typer.Option("--amount", metavar="R$", help="Approved, e.g. 123.45.")] = None,
    message: Annotated[str, typer.Option(help="The carrier's words.")] = "",
) -> None:
    """The carrier's verdict (the amount claimed when approved without --amount)."""
    if verdict not in ("approved", "partially_approved", "denied"):
        raise fail(f"verdict {verdict!r}: expected approved, partially_approved or denied", 2)
    value = amount(amount_, "--amount") if amount_ is not None else None
    said = cast("Verdict", verdict)
    _move(ctx, claim_id, lambda s, a, now: a.record_answer(
        s, claim_id, said, amount=value, message=message, actor=ACTOR, now=now))  # fmt: skip


@claims_app.command("paid")
def claims_paid(
    ctx: typer.Context,
    claim_id: ClaimId,
    paid: Annotated[str, typer.Argument(metavar="R$", help="The amount paid, e.g. 123.45.")],
    at: Annotated[datetime | None, typer.Option(metavar="WHEN", help="When it was paid (default: now).")] = None,
) -> None:
    """The money arrived: the amount paid, reconciled against the amount approved."""
    from claims.windows import CARRIER_ZONE

    value = amount(paid, "amount")
    when = at.replace(tzinfo=at.tzinfo or CARRIER_ZONE) if at else None
    _move(ctx, claim_id, lambda s, a, now: a.record_payment(
        s, claim_id, value, paid_at=when or now, actor=ACTOR, now=now))  # fmt: skip


@claims_app.command("withdraw")
def claims_withdraw(ctx: typer.Context, claim_id: ClaimId, reason: Annotated[str, typer.Argument()]) -> None:
    """Give the claim up (e.g. the parcel turned up), with the reason."""
    _move(ctx, claim_id, lambda s, a, now: a.withdraw(s, claim_id, reason, actor=ACTOR, now=now))
