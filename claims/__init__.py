"""Carrier claims: policies, lifecycle and filers (built in a later issue)."""
