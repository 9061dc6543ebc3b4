"""The rollup job (queue-agnostic, like every ``tasks.py``)."""

from typing import Any

from tracker.metrics.rollup import roll_changed
from tracker.runtime import runtime_of


async def rollup_metrics(ctx: dict[str, Any]) -> dict[str, Any]:
    """Job: re-roll the days that what changed since the last run touches (every day, the first time)."""
    runtime = runtime_of(ctx)
    async with runtime.sessions() as session, session.begin():
        days = await roll_changed(session, runtime.clock.now())
    return {"days": len(days), "first": days[0].isoformat() if days else None}
