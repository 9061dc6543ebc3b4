"""What the poll path shows Prometheus at scrape time, read from the database (indexed: the due index).

The lag quantiles are read at their rank in the due index (two rows each), not by loading the due shipments:
a scrape costs the same with a backlog of a million as with none.
"""

from datetime import datetime
from math import floor

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import CarrierAccount, shipments_table
from tracker.polling.poller import due_now
from tracker.probes import Sample


async def poll_gauges(session: AsyncSession, now: datetime) -> list[Sample]:
    due = int(await session.scalar(select(func.count()).where(due_now(now))) or 0)
    p50, p99 = [await _lag_quantile(session, now, due, q) for q in (0.5, 0.99)]
    samples = [
        Sample("zelo_polls_due", "Shipments due for a poll now (not yet claimed by a poller).", due),
        Sample("zelo_poll_lag_seconds", "How late the due polls are: median.", p50, {"quantile": "0.5"}),
        Sample("zelo_poll_lag_seconds", "How late the due polls are: 99th percentile.", p99, {"quantile": "0.99"}),
    ]
    for account in await session.scalars(select(CarrierAccount).order_by(CarrierAccount.id)):
        labels = {"account": account.name, "carrier": account.carrier}
        samples.append(
            Sample(
                "zelo_carrier_circuit_open", "1 while the account's circuit is open.", account.circuit_open(now), labels
            )
        )
        samples.append(
            Sample(
                "zelo_carrier_consecutive_failures",
                "Failed carrier calls in a row on the account.",
                account.consecutive_failures or 0,
                labels,
            )
        )
    return samples


async def _lag_quantile(session: AsyncSession, now: datetime, due: int, q: float) -> float:
    """The ``q`` quantile of the due polls' lags (linear between ranks, as ``statistics.quantiles`` inclusive):
    the lag at rank q·(due−1) from the least late is at rank (1−q)·(due−1) in ``next_poll_at`` order."""
    if not due:
        return 0.0
    position = (1 - q) * (due - 1)
    ships = shipments_table.c
    ranked = select(ships.next_poll_at).where(due_now(now)).order_by(ships.next_poll_at)
    pair = list(await session.scalars(ranked.offset(floor(position)).limit(2)))
    lags = [(now - at).total_seconds() for at in pair]
    if len(lags) < 2:
        return lags[0] if lags else 0.0
    return float(lags[0] + (position - floor(position)) * (lags[1] - lags[0]))
