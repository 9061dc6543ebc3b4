"""Occurrence metrics: daily rollups (``rollup``) and the carriers' scorecards read from them (``scorecard``)."""

from tracker.metrics.rollup import roll_changed, roll_days
from tracker.metrics.scorecard import Query, scorecard

__all__ = ["Query", "roll_changed", "roll_days", "scorecard"]
