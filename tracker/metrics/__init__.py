"""Occurrence metrics: daily rollups (``rollup``) and the carriers' scorecards read from them (``scorecard``),
the checked request (``params``) and the CSV table (``table``) the API, the CLI and the dashboard share."""

from tracker.metrics.params import BadRequest, today
from tracker.metrics.params import query as checked_query
from tracker.metrics.rollup import roll_changed, roll_days
from tracker.metrics.scorecard import TREND, Query, Tally, figures, scorecard, tallies
from tracker.metrics.table import to_csv

__all__ = [
    "TREND",
    "BadRequest",
    "Query",
    "Tally",
    "checked_query",
    "figures",
    "roll_changed",
    "roll_days",
    "scorecard",
    "tallies",
    "to_csv",
    "today",
]
