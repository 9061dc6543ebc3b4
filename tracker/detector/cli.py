"""``zelo incidents list`` and ``zelo detect``."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracker.commands import console, open_runtime, run, settings
from tracker.vocabulary import IncidentStatus, Kind

if TYPE_CHECKING:
    from tracker.detector import Detected

SWEEP_EVERY_S = 900.0  # as the embedded schedule runs it (zelo/features.py)
incidents_app = typer.Typer(help="Incidents (ocorrências) raised by the detector.", no_args_is_help=True)


@incidents_app.command("list")
def incidents_list(
    ctx: typer.Context,
    kind: Annotated[
        Kind | None, typer.Option(metavar="KIND", help=f"Only this kind: {', '.join(Kind)}.", show_choices=False)
    ] = None,
    status: Annotated[
        IncidentStatus | None,
        typer.Option(metavar="STATUS", help=f"Only this status: {', '.join(IncidentStatus)}.", show_choices=False),
    ] = None,
    carrier: Annotated[str | None, typer.Option(metavar="CARRIER", help="Only this carrier.")] = None,
    owner: Annotated[str | None, typer.Option(metavar="OWNER", help="Only this owner (ops, claims, ...).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open incidents past their triage deadline.")] = False,
    limit: Annotated[int, typer.Option(metavar="N", min=1, max=10_000, help="Show at most N.")] = 100,
) -> None:
    """Incidents, newest first, with their SLA (times in ZELO_STORE_TIMEZONE)."""
    from sqlalchemy import func, select

    from tracker.detector.api import incidents_query
    from tracker.models import Shipment

    loaded = settings()

    async def go() -> tuple[list[Any], int, datetime]:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            now = rt.clock.now()
            query = incidents_query(kind=kind, status=status, carrier=carrier, owner=owner, overdue=overdue, now=now)
            total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
            rows = (await session.execute(query.add_columns(Shipment.order_number).limit(limit))).all()
            return list(rows), total or 0, now

    rows, total, now = run(go())
    filters = {"--kind": kind, "--status": status, "--carrier": carrier, "--owner": owner}
    given = " ".join(f"{flag} {value}" for flag, value in filters.items() if value is not None)
    given = f"{given} --overdue".strip() if overdue else given
    print_incidents(console, rows, total=total, now=now, zone=ZoneInfo(loaded.store_timezone), filters=given)


def print_incidents(
    out: Console, rows: list[Any], *, total: int, now: datetime, zone: ZoneInfo, filters: str = ""
) -> None:
    """The incidents table, readable at 80 columns: two lines per incident, codes and dates never cut."""
    if not rows:
        out.print(f"no incidents match {filters}" if filters else "no incidents yet")
        return
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("incident\nseverity, owner", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("order\ntracking code", no_wrap=True)
    table.add_column("opened\ntriage due", no_wrap=True)
    for incident, code, _carrier, _external, order in rows:
        late = incident.status == IncidentStatus.OPEN and incident.triage_due_at < now
        table.add_row(
            str(incident.id),
            f"{incident.kind}\n[dim]{incident.severity}, {escape(incident.owner)}[/dim]",
            incident.status + ("\n[bold red]overdue[/bold red]" if late else ""),
            f"{escape(order or '-')}\n{code}",
            f"{_when(incident.opened_at, zone)}\n{_when(incident.triage_due_at, zone)}",
        )
    out.print(table)
    out.print(f"showing {len(rows)} of {total} incidents, newest first; times in {zone.key}", highlight=False)


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def detect(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run the sweep once now, report and exit.")] = False,
    every: Annotated[
        float, typer.Option(metavar="SECONDS", min=1.0, help="Without --once: the pause between sweeps.")
    ] = SWEEP_EVERY_S,
) -> None:
    """Run the detector's time-based sweep (delays, silences, pickup deadlines): with --once, now; else every
    15 minutes until stopped, as `zelo poll` runs it with the rest of the schedule."""
    import asyncio

    from tracker.detector import detector_of
    from tracker.detector.guard import active_guards
    from tracker.detector.sweep import sweep

    loaded = settings()

    async def go() -> None:
        async with open_runtime(ctx, loaded) as rt:
            while True:
                now = rt.clock.now()
                done = await sweep(rt.sessions, detector_of(rt), now)
                async with rt.sessions() as session:
                    guards = await active_guards(session, now)
                _report(done, [f"{g.account}: {g.reason}" for g in guards.values()])
                if once:
                    return
                await asyncio.sleep(every)

    run(go())


def _report(done: "Detected", guards: list[str]) -> None:
    console.print(f"opened {sum(done.opened.values())}, escalated {sum(done.escalated.values())}")
    for kind, n in sorted(done.opened.items()):
        console.print(f"  opened {kind}: {n}")
    for kind, n in sorted(done.escalated.items()):
        console.print(f"  escalated {kind}: {n}")
    for guard in guards:
        console.print(f"  [yellow]outage guard[/yellow] {escape(guard)}")
