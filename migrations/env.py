"""Alembic environment: the URL comes from the caller (``zelo db upgrade``) or from the settings."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import claims.models  # noqa: F401  (registers the claim tables)
import dashboard.models  # noqa: F401  (registers the dashboard's people and sessions)
import notifier.models  # noqa: F401  (registers the notification tables)
import tracker.detector.models  # registers the incident tables
import tracker.ingest.models  # registers the ingest tables
import tracker.metrics.models  # registers the rollup tables
import tracker.pushes.models  # noqa: F401  (registers the push tables)
from tracker.config import get_settings
from tracker.db import is_sqlite, make_engine
from tracker.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("url") or get_settings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite(_url()),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())
