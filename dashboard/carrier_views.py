"""What the carriers page shows, built from tracker.metrics' scorecard rows and tallies (no query here): the
carriers side by side (a line per figure, a column per carrier, each with its trend), the weekly series the trend
charts draw, and the carrier × destination UF heat map of on-time % (the store's promise)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dashboard.labels import choices, label
from dashboard.web import money
from tracker.metrics import TREND, Tally, figures

PERCENT = frozenset({"on_time_promise_pct", "on_time_deadline_pct", "first_attempt_pct", "claims_approval_pct"})
LOWER_IS_BETTER = frozenset(
    {"incidents_per_100", "transit_p50_days", "transit_p90_days", "tmr_mean_hours", "tmr_p90_hours"}
)
DIGITS = {"incidents_per_100": 2, "satisfaction": 2}
MIN_JUDGED = 10  # a heat map cell with fewer shipments judged on time or late: grey, its count in its title
HEAT_FLOOR = 70.0  # on-time % at or below this: the reddest step; 100 %: the greenest
HEAT_STEPS = 10  # steps heat-0 … heat-10 (dashboard.css)
Key = tuple[str | None, ...]


def number(value: float | int | Decimal, digits: int = 1) -> str:
    """``1234.5`` → ``1.234,5`` (pt-BR)."""
    return f"{value:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def shown(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if name.startswith("amount"):
        return money(value)
    if name in PERCENT:
        return number(value, 1) + "%"
    if isinstance(value, int):
        return number(value, 0)
    return number(value, DIGITS.get(name, 1))


@dataclass(frozen=True)
class Cell:
    text: str
    trend: str = ""  # "▲ 2,5 pp"
    trend_class: str = ""  # better | worse | same
    trend_title: str = ""


@dataclass(frozen=True)
class Line:
    name: str
    title: str
    cells: list[Cell]


def _trend(name: str, delta: float | None) -> tuple[str, str]:
    if delta is None:
        return "", ""
    unit = " pp" if name in PERCENT else ""
    if delta == 0:
        return f"= 0{unit}", "same"
    arrow = "▲" if delta > 0 else "▼"
    better = (delta > 0) != (name in LOWER_IS_BETTER)
    return f"{arrow} {number(abs(delta), DIGITS.get(name, 1))}{unit}", "better" if better else "worse"


def side_by_side(rows: list[dict[str, Any]], before: str) -> list[Line]:
    """Each figure of ``labels.toml``'s ``[figures]`` a line, each scorecard row (a carrier) a column."""
    lines = []
    for name, title in choices("figures"):
        cells = []
        for row in rows:
            text, css = _trend(name, row["trend"][name]) if name in TREND else ("", "")
            cells.append(Cell(shown(name, row[name]), text, css, f"contra {before}" if text else ""))
        lines.append(Line(name, title, cells))
    return lines


def _merged(found: dict[Key, Tally], columns: tuple[str, ...], keep: tuple[str, ...]) -> dict[Key, Tally]:
    at = [columns.index(c) for c in keep]
    out: defaultdict[Key, Tally] = defaultdict(Tally)
    for key, tally in found.items():
        out[tuple(key[i] for i in at)].add(tally)
    return dict(out)


def weeks(first: date, last: date) -> list[date]:
    """The Mondays of the weeks the period touches."""
    monday = first - timedelta(days=first.weekday())
    return [monday + timedelta(days=7 * i) for i in range((last - monday).days // 7 + 1)]


def trend_charts(
    found: dict[Key, Tally], columns: tuple[str, ...], carriers: Iterable[str], first: date, last: date
) -> dict[str, Any]:
    """The charts' data (the page carries it as JSON): per carrier, incidents per 100 shipments and on-time %
    each week (``null``: no shipment that week, or none judged)."""
    by_week = {k: figures(t) for k, t in _merged(found, columns, ("carrier", "week")).items()}
    mondays = weeks(first, last)
    series = []
    for carrier in carriers:
        week = [by_week.get((carrier, m.isoformat())) for m in mondays]
        series.append(
            {
                "carrier": carrier,
                "name": label("carriers", carrier),
                "incidents_per_100": [f["incidents_per_100"] if f else None for f in week],
                "on_time_pct": [f["on_time_promise_pct"] if f else None for f in week],
                "shipments": [f["shipments"] if f else 0 for f in week],
            }
        )
    return {
        "weeks": [m.isoformat() for m in mondays],
        "labels": [m.strftime("%d/%m") for m in mondays],
        "series": series,
        "titles": dict(choices("charts")),
    }


@dataclass(frozen=True)
class HeatCell:
    text: str
    css: str  # heat-0 … heat-10, heat-few, heat-none
    title: str


def heat_step(pct: float) -> int:
    share = (pct - HEAT_FLOOR) / (100.0 - HEAT_FLOOR)
    return max(0, min(HEAT_STEPS, round(share * HEAT_STEPS)))


def _heat_cell(tally: Tally | None) -> HeatCell:
    if tally is None or not tally.sums["shipments"]:
        return HeatCell("", "heat-none", "nenhum envio")
    judged, shipments = tally.sums["judged_promise"], tally.sums["shipments"]
    if judged < MIN_JUDGED:
        title = f"{judged} avaliado(s) de {shipments} envio(s): poucos para medir (mínimo {MIN_JUDGED})"
        return HeatCell("", "heat-few", title)
    pct = round(100.0 * tally.sums["on_time_promise"] / judged, 1)
    return HeatCell(number(pct, 1) + "%", f"heat-{heat_step(pct)}", f"{number(pct, 1)}% no prazo de {judged} avaliados")


@dataclass(frozen=True)
class HeatMap:
    states: list[str | None]  # None: destination not known
    rows: list[tuple[str, list[HeatCell]]]  # carrier → a cell per state


def heat_map(found: dict[Key, Tally], columns: tuple[str, ...], carriers: Iterable[str]) -> HeatMap:
    by_state = _merged(found, columns, ("carrier", "destination_state"))
    states = sorted({k[1] for k in by_state}, key=lambda s: (s is None, s or ""))
    rows = [(c, [_heat_cell(by_state.get((c, s))) for s in states]) for c in carriers]
    return HeatMap(states, rows)


def legend() -> list[tuple[str, str]]:
    """The heat map's colour steps, each with the on-time % at its middle."""
    width = (100.0 - HEAT_FLOOR) / HEAT_STEPS
    steps = [(f"heat-{i}", number(HEAT_FLOOR + width * i, 0) + "%") for i in range(HEAT_STEPS + 1)]
    steps[0] = ("heat-0", f"≤ {number(HEAT_FLOOR, 0)}%")
    return steps
