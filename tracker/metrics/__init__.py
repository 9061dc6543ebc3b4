"""Occurrence metrics: daily rollups and carrier scorecards."""
