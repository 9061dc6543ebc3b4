"""Tracking core: configuration, storage, polling and the CLI."""
