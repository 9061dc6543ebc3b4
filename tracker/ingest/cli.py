"""``zelo import FILE.csv``: shipments from a CSV file, with the same checks as the ERP webhook."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress

from tracker.commands import console, open_runtime, run, settings
from tracker.ingest.csv_import import import_csv


def import_(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
) -> None:
    """Create or update shipments from a CSV file (same checks as the ERP webhook); re-importing is safe."""
    loaded = settings()
    with file.open("rb") as f:  # any encoding (see tracker.ingest.csv_import.sniff)
        lines = max(0, sum(1 for _ in f) - 1)

    async def go() -> Any:
        async with open_runtime(ctx, loaded) as rt:
            with Progress(console=console) as progress:
                task = progress.add_task(f"importing {file.name}", total=lines)
                return await import_csv(rt.sessions, rt.clock, file, lambda n: progress.advance(task, n))

    report = run(go())
    console.print(", ".join(f"{k} {v}" for k, v in report.counts.items()))
    for r in report.rejected:
        for e in r.errors:
            console.print(f"  line {r.index}: [red]{escape(e.field)}[/red]: {escape(e.message)}", highlight=False)
    for r in report.warned:
        for w in r.warnings:
            console.print(f"  line {r.index}: [yellow]warning[/yellow]: {escape(w)}", highlight=False)
    if report.rejected:
        raise typer.Exit(1)
