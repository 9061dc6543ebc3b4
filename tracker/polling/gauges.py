"""What the poll path shows Prometheus at scrape time, read from the database (indexed: the due index)."""

from datetime import datetime
from statistics import quantiles

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import CarrierAccount, shipments_table
from tracker.probes import Sample

LAG_SAMPLE = 100_000  # the lag quantiles read at most this many of the oldest due shipments


async def poll_gauges(session: AsyncSession, now: datetime) -> list[Sample]:
    ships = shipments_table.c
    due = await session.scalar(select(func.count()).where(ships.next_poll_at <= now)) or 0
    oldest = select(ships.next_poll_at).where(ships.next_poll_at <= now).order_by(ships.next_poll_at)
    lags = [(now - at).total_seconds() for at in await session.scalars(oldest.limit(LAG_SAMPLE))]
    p50, p99 = _quantiles(lags)
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
                "Failed batches in a row on the account.",
                account.consecutive_failures or 0,
                labels,
            )
        )
    return samples


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    cuts = quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]
