"""Carrier claims: policies, lifecycle and filers (not built yet)."""
