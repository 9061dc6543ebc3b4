"""Job functions of claims, queue-agnostic (the embedded loop and arq call them with ``ctx``)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from claims import claims_of, filer_of, follower_of
from claims.deadlines import WatchReport, watch
from claims.filing import LEASE, FilingReport
from claims.models import Claim
from claims.vocabulary import ClaimStatus
from tracker.runtime import Runtime, runtime_of
from tracker.signals import Alert


async def file_claims(ctx: dict[str, Any]) -> FilingReport:
    """File every claim that is ready (and approved where its policy asks), then watch the deadlines."""
    runtime = runtime_of(ctx)
    report = await filer_of(runtime).file_due(runtime.clock.now())
    await _watch(runtime)
    return report


async def follow_claims(ctx: dict[str, Any]) -> int:
    """Read the carriers' answers to filed claims (verdicts, payments); how many claims moved."""
    runtime = runtime_of(ctx)
    moved = await follower_of(runtime).follow(runtime.clock.now())
    await _watch(runtime)
    return moved


async def watch_claims(ctx: dict[str, Any]) -> WatchReport:
    """The deadline watch: windows that opened or closed, alerts before they close, overdue answers."""
    return await _watch(runtime_of(ctx))


async def _watch(runtime: Runtime) -> WatchReport:
    async with runtime.sessions() as session, session.begin():
        return await watch(session, claims_of(runtime), runtime.alert or _nobody, runtime.clock.now())


async def _nobody(session: AsyncSession, alerts: Sequence[Alert], now: datetime) -> int:
    return 0  # a runtime with no notifier plugged in: the watch still moves claims


async def stuck_filings(session: AsyncSession, now: datetime) -> int:
    """Claims left ``filing`` past their lease: the filer that took them died before recording the answer."""
    late = Claim.status == ClaimStatus.FILING.value, Claim.updated_at <= now - LEASE
    return int(await session.scalar(select(func.count()).select_from(Claim).where(*late)) or 0)
