"""``zelo incidents list`` and ``zelo detect --once``."""

from typing import Annotated, Any

import typer
from rich.table import Table

from tracker.commands import console, open_runtime, run, settings
from tracker.detector import detector_of
from tracker.detector.api import incidents_query
from tracker.detector.guard import active_guards
from tracker.detector.sweep import sweep
from tracker.vocabulary import IncidentStatus, Kind

incidents_app = typer.Typer(help="Incidents (ocorrências) raised by the detector.", no_args_is_help=True)


@incidents_app.command("list")
def incidents_list(
    ctx: typer.Context,
    kind: Annotated[Kind | None, typer.Option(help="Only this kind.")] = None,
    status: Annotated[IncidentStatus | None, typer.Option(help="Only this status.")] = None,
    carrier: Annotated[str | None, typer.Option(help="Only this carrier.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open incidents past their triage deadline.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Incidents, newest first, with their SLA."""
    loaded = settings()

    async def go() -> tuple[list[Any], Any]:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            now = rt.clock.now()
            query = incidents_query(kind=kind, status=status, carrier=carrier, owner=owner, overdue=overdue, now=now)
            return list((await session.execute(query.limit(limit))).all()), now

    rows, now = run(go())
    table = Table("id", "kind", "severity", "status", "owner", "tracking code", "opened", "triage due", "overdue")
    for incident, code, _carrier, _external in rows:
        late = incident.status == IncidentStatus.OPEN and incident.triage_due_at < now
        table.add_row(
            str(incident.id),
            incident.kind,
            incident.severity,
            incident.status,
            incident.owner,
            code,
            f"{incident.opened_at:%Y-%m-%d %H:%M}",
            f"{incident.triage_due_at:%Y-%m-%d %H:%M}",
            "[red]yes[/red]" if late else "",
        )
    console.print(table)


def detect(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run the time-based sweep now and report.")] = True,
) -> None:
    """Run the detector's time-based sweep (delays, silences, pickup deadlines) now."""
    loaded = settings()

    async def go() -> None:
        async with open_runtime(ctx, loaded) as rt:
            now = rt.clock.now()
            done = await sweep(rt.sessions, detector_of(rt), now)
            async with rt.sessions() as session:
                guards = await active_guards(session, now)
        console.print(f"opened {sum(done.opened.values())}, escalated {sum(done.escalated.values())}")
        for kind, n in sorted(done.opened.items()):
            console.print(f"  opened {kind}: {n}")
        for kind, n in sorted(done.escalated.items()):
            console.print(f"  escalated {kind}: {n}")
        for guard in guards.values():
            console.print(f"  [yellow]outage guard[/yellow] {guard.account}: {guard.reason}")

    run(go())
