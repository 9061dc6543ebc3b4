"""What claims show Prometheus at scrape time: claims not yet filed whose window closes soon."""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import Claim
from claims.vocabulary import NOT_FILED
from tracker.probes import Sample

SOON = (("24h", timedelta(hours=24)), ("72h", timedelta(hours=72)))


async def claim_gauges(session: AsyncSession, now: datetime) -> list[Sample]:
    unfiled = Claim.status.in_([s.value for s in NOT_FILED]), Claim.closes_at > now
    samples = []
    for label, within in SOON:
        count = await session.scalar(select(func.count()).where(*unfiled, Claim.closes_at <= now + within))
        samples.append(
            Sample(
                "zelo_claims_closing",
                "Claims not filed yet whose carrier window closes within this.",
                count or 0,
                {"within": label},
            )
        )
    return samples
