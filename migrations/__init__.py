"""Alembic migrations; run them with ``zelo db upgrade``."""
