"""The scorecard as a flat table: the CSV export and the terminal's table share its columns."""

import csv
import io
from typing import Any

from tracker.metrics.scorecard import TREND

FIGURES = (
    "shipments", "delivered", "incidents_per_100", "on_time_promise_pct", "on_time_deadline_pct",
    "first_attempt_pct", "transit_p50_days", "transit_p90_days", "tmr_mean_hours", "tmr_p90_hours", "claims_filed",
    "claims_approved", "claims_denied", "claims_paid", "claims_approval_pct", "amount_claimed", "amount_recovered",
    "notifications_sent", "satisfaction", "rated", "previous_shipments",
)  # fmt: skip
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell a spreadsheet would run as a formula (OWASP: CSV injection)


def columns(group: list[str], rows: list[dict[str, Any]]) -> list[str]:
    kinds = sorted({k for r in rows for k in r["incidents_per_100_by_kind"]})
    return [*group, *FIGURES, *(f"incidents_per_100_{k}" for k in kinds), *(f"trend_{t}" for t in TREND)]


def flat(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row["group"]) | {f: row[f] for f in FIGURES}
    out |= {f"incidents_per_100_{k}": v for k, v in row["incidents_per_100_by_kind"].items()}
    return out | {f"trend_{t}": v for t, v in row["trend"].items()}


def safe(value: Any) -> str:
    """A cell's text; text a spreadsheet would take for a formula is quoted with a leading apostrophe (numbers,
    negative ones too, are written as they are)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA) else value
    return str(value)


def to_csv(group: list[str], rows: list[dict[str, Any]]) -> str:
    names = columns(group, rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        cells = flat(row)
        writer.writerow([safe(cells.get(n)) for n in names])
    return out.getvalue()
