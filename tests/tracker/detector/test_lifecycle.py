"""A person's changes to an incident, on SQLite and PostgreSQL: checked against the lifecycle first, then
written with their audit trail."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.tracker.detector.conftest import Seed
from tracker.clock import SimulatedClock
from tracker.detector.lifecycle import LifecycleError, change
from tracker.detector.models import Incident, IncidentChange
from tracker.detector.schemas import IncidentPatch
from tracker.vocabulary import TRANSITIONS, IncidentStatus

Sessions = async_sessionmaker[AsyncSession]


async def apply(sessions: Sessions, clock: SimulatedClock, incident_id: int, **patch: Any) -> Incident | None:
    async with sessions() as session, session.begin():
        return await change(session, incident_id, IncidentPatch(**patch), actor="ana", now=clock.now())


async def history(sessions: Sessions, incident_id: int) -> list[tuple[str, str | None, str | None, str | None]]:
    async with sessions() as session:
        query = select(IncidentChange).where(IncidentChange.incident_id == incident_id).order_by(IncidentChange.id)
        return [(c.action, c.from_status, c.to_status, c.note) for c in await session.scalars(query)]


async def test_triage_is_stamped_once(sessions: Sessions, clock: SimulatedClock, seed: Seed) -> None:
    incident = await seed.incident()
    first = clock.now()
    clock.advance(timedelta(hours=1))
    triaged = await apply(sessions, clock, incident, status="triaged")
    assert triaged is not None and (triaged.status, triaged.triaged_at) == ("triaged", first + timedelta(hours=1))
    clock.advance(timedelta(hours=1))
    await apply(sessions, clock, incident, status="resolved", outcome="no_action", root_cause="unknown")
    await apply(sessions, clock, incident, status="open")
    again = await apply(sessions, clock, incident, status="triaged")
    assert again is not None and again.triaged_at == first + timedelta(hours=1)


async def test_waiting_straight_from_open_counts_as_triage(
    sessions: Sessions, clock: SimulatedClock, seed: Seed
) -> None:
    incident = await seed.incident()
    waiting = await apply(sessions, clock, incident, status="waiting_customer", note="asked for a photo")
    assert waiting is not None and waiting.triaged_at == clock.now() and waiting.status == "waiting_customer"
    assert (await history(sessions, incident))[-1] == (
        "waiting",
        "open",
        "waiting_customer",
        "open → waiting_customer; asked for a photo",
    )


async def test_resolving_needs_an_outcome_and_a_root_cause(
    sessions: Sessions, clock: SimulatedClock, seed: Seed
) -> None:
    incident = await seed.incident()
    with pytest.raises(LifecycleError) as no_outcome:
        await apply(sessions, clock, incident, status="resolved", root_cause="carrier_loss")
    assert no_outcome.value.field == "outcome" and "claim_filed" in str(no_outcome.value)
    with pytest.raises(LifecycleError) as no_cause:
        await apply(sessions, clock, incident, status="resolved", outcome="claim_filed", owner="claims")
    assert no_cause.value.field == "root_cause" and "carrier_theft" in str(no_cause.value)
    unchanged = await apply(sessions, clock, incident)
    assert unchanged is not None and (unchanged.status, unchanged.owner) == ("open", "ops")  # nothing half-done
    resolved = await apply(
        sessions, clock, incident, status="resolved", outcome="claim_filed", root_cause="carrier_loss", note="PI 9"
    )
    assert resolved is not None
    assert (resolved.outcome, resolved.root_cause, resolved.resolution_note) == ("claim_filed", "carrier_loss", "PI 9")
    assert (resolved.resolved_at, resolved.resolved_by, resolved.triaged_at) == (clock.now(), "ana", clock.now())
    assert (await history(sessions, incident))[-1] == ("resolved", "open", "resolved", "open → resolved; PI 9")


async def test_an_outcome_goes_with_resolving_only(sessions: Sessions, clock: SimulatedClock, seed: Seed) -> None:
    incident = await seed.incident(status="resolved", outcome="resent", root_cause="carrier_delay")
    for patch in ({"outcome": "refunded"}, {"status": "resolved", "outcome": "refunded"}):
        with pytest.raises(LifecycleError) as refused:
            await apply(sessions, clock, incident, **patch)
        assert refused.value.field == "outcome" and "status 'resolved'" in str(refused.value)


@pytest.mark.parametrize("current", list(IncidentStatus))
async def test_only_the_allowed_transitions(
    sessions: Sessions, clock: SimulatedClock, seed: Seed, current: IncidentStatus
) -> None:
    for target in IncidentStatus:
        incident = await seed.incident(status=current.value)
        resolving = target is IncidentStatus.RESOLVED and target is not current
        resolution = {"outcome": "resent", "root_cause": "carrier_delay"} if resolving else {}
        if target is current or target in TRANSITIONS[current]:
            moved = await apply(sessions, clock, incident, status=target.value, **resolution)
            assert moved is not None and moved.status == target.value
            continue
        with pytest.raises(LifecycleError) as refused:
            await apply(sessions, clock, incident, status=target.value, **resolution)
        allowed = sorted(s.value for s in TRANSITIONS[current])
        assert refused.value.field == "status"
        assert str(refused.value) == f"an incident {current} cannot become {target}; allowed: {allowed}"


async def test_reopening_clears_the_resolution(sessions: Sessions, clock: SimulatedClock, seed: Seed) -> None:
    incident = await seed.incident()
    await apply(sessions, clock, incident, status="resolved", outcome="refunded", root_cause="fraud", note="chargeback")
    clock.advance(timedelta(days=1))
    reopened = await apply(sessions, clock, incident, status="open", note="the customer wrote again")
    assert reopened is not None and reopened.status == "open" and reopened.updated_at == clock.now()
    assert reopened.reopened_count == 1
    resolution = (reopened.resolved_at, reopened.resolved_by, reopened.outcome, reopened.root_cause)
    assert resolution == (None, None, None, None) and reopened.resolution_note is None
    assert (await history(sessions, incident))[-1] == (
        "reopened",
        "resolved",
        "open",
        "resolved → open; the customer wrote again",
    )


async def test_assigning_noting_and_no_ops(sessions: Sessions, clock: SimulatedClock, seed: Seed) -> None:
    incident = await seed.incident()
    await apply(sessions, clock, incident, owner="bia", status="triaged", note="mine")
    await apply(sessions, clock, incident, owner="bia", status="triaged")  # as it is: nothing recorded
    await apply(sessions, clock, incident, note="called the carrier")
    assert (await history(sessions, incident))[1:] == [
        ("assigned", "open", "open", "owner ops → bia"),
        ("triaged", "open", "triaged", "open → triaged; mine"),
        ("noted", "triaged", "triaged", "called the carrier"),
    ]
    assert await apply(sessions, clock, 999_999, status="triaged") is None
