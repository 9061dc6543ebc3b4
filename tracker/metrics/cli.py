"""``zelo scorecard``: the carriers' scorecard in the terminal (readable at 80 columns)."""

from datetime import date, timedelta
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tracker.commands import console, fail, open_runtime, run, settings


def scorecard(
    ctx: typer.Context,
    first: Annotated[str | None, typer.Option("--from", metavar="YYYY-MM-DD", help="Default: --to − 29 days.")] = None,
    last: Annotated[str | None, typer.Option("--to", metavar="YYYY-MM-DD", help="Default: today.")] = None,
    group_by: Annotated[
        str,
        typer.Option(
            metavar="GROUPS", help="Up to three of carrier, service, route, destination_state, category, week."
        ),
    ] = "carrier",
    carrier: Annotated[str | None, typer.Option(metavar="CARRIER", help="Only this carrier.")] = None,
    destination_state: Annotated[str | None, typer.Option(metavar="UF", help="Only parcels to this UF.")] = None,
    category: Annotated[str | None, typer.Option(metavar="CATEGORY", help="Only this product category.")] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="Roll up what changed since the last rollup first.")
    ] = True,
) -> None:
    """Carriers compared over a period (ship days, Brasília time): on time, incidents, transit, TMR, claims."""
    from tracker.metrics import params
    from tracker.metrics.dialect import OFFSET_HOURS
    from tracker.metrics.rollup import roll_changed
    from tracker.metrics.scorecard import scorecard as build

    loaded = settings()

    async def go() -> tuple[Any, list[dict[str, Any]]]:
        async with open_runtime(ctx, loaded) as rt:
            today = (rt.clock.now() - timedelta(hours=OFFSET_HOURS)).date()
            try:
                q = params.query(
                    first, last, today=today, group_by=group_by, carrier=carrier,
                    destination_state=destination_state, category=category,
                )  # fmt: skip
            except params.BadRequest as exc:
                flags = "; ".join(f"--{e.field.replace('_', '-')}: {e.message}" for e in exc.errors)
                raise fail(flags) from None
            if refresh:
                async with rt.sessions() as session, session.begin():
                    await roll_changed(session, rt.clock.now())
            async with rt.sessions() as session:
                return q, await build(session, q)

    q, rows = run(go())
    print_scorecard(console, list(q.columns), rows, q.first, q.last)


def _n(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


def _delta(value: float | None) -> str:
    if value is None:
        return "-"
    colour = "green" if value > 0 else "red" if value < 0 else "dim"
    return f"[{colour}]{value:+.1f}[/{colour}]"


def _group(group: dict[str, str | None]) -> str:
    shown: dict[str, str | None] = dict(group)
    if set(group) >= {"origin_state", "destination_state"}:
        route = f"{group['origin_state'] or '?'}→{group['destination_state'] or '?'}"
        rest = {k: v for k, v in group.items() if k not in ("origin_state", "destination_state")}
        shown = {"route": route, **rest}
    return "\n".join(escape(v or "(none)") for v in shown.values())


def print_scorecard(out: Console, group: list[str], rows: list[dict[str, Any]], first: date, last: date) -> None:
    """The scorecard, a row per group (two lines each), seven columns that fit in 80."""
    if not rows:
        out.print(f"no shipments shipped from {first} to {last} in the rollups")
        return
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False)
    label = "route" if group == ["origin_state", "destination_state"] else " / ".join(group).replace("_", " ")
    table.add_column(label, no_wrap=True, max_width=16)
    table.add_column("ships\n1st att", justify="right", no_wrap=True)
    table.add_column("on time\nstore/carr", justify="right", no_wrap=True)
    table.add_column("incid.\n/100", justify="right", no_wrap=True)
    table.add_column("transit d\nTMR h", justify="right", no_wrap=True)  # p50/p90 business days; mean/p90 hours
    table.add_column("claims ok\nR$ recov.", justify="right", no_wrap=True)
    table.add_column("Δ on time\nΔ incid.", justify="right", no_wrap=True)
    for r in rows:
        t = r["trend"]
        tmr_mean = None if r["tmr_mean_hours"] is None else round(r["tmr_mean_hours"])
        table.add_row(
            _group(r["group"]),
            f"{r['shipments']}\n{_n(r['first_attempt_pct'], '%')}",
            f"{_n(r['on_time_promise_pct'], '%')}\n{_n(r['on_time_deadline_pct'], '%')}",
            _n(None if r["incidents_per_100"] is None else round(r["incidents_per_100"], 1)),
            f"{_n(r['transit_p50_days'])}/{_n(r['transit_p90_days'])}\n{_n(tmr_mean)}/{_n(r['tmr_p90_hours'])}",
            f"{_n(r['claims_approval_pct'], '%')}\n{r['amount_recovered']:,.0f}",
            f"{_delta(t['on_time_promise_pct'])}\n{_delta(t['incidents_per_100'])}",
        )
    out.print(table)
    out.print(
        f"shipped {first} to {last} (Brasília days); on time at the first attempt, against the store's promise and "
        "the carrier's deadline; transit p50/p90 in business days, TMR mean/p90 in hours; Δ: against the period "
        "just before, in points",
        highlight=False,
    )
