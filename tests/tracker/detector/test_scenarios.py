"""Every sandbox scenario, end to end through the real adapter, the poll pipeline and the sweep, raises
exactly the incidents its scenario declares (``incidents`` in scenarios.toml), and a carrier outage adds none."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from carriers.sandbox import SandboxState, scenario_names
from carriers.sandbox.scenarios import load_scenarios
from tests.tracker.test_end_to_end import play
from tracker.clock import SimulatedClock
from tracker.detector.models import Incident, IncidentChange
from tracker.detector.service import Detector
from tracker.models import Shipment
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


async def raised(sessions: Sessions) -> dict[str, set[str]]:
    scenario_of = {make_code("SS", i): name for i, name in enumerate(scenario_names())}
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Shipment.tracking_code, Incident.kind).join(Incident, Incident.shipment_id == Shipment.id)
            )
        ).all()
    found: dict[str, set[str]] = {name: set() for name in scenario_names()}
    for code, kind in rows:
        found[scenario_of[code]].add(kind)
    return found


def expected() -> dict[str, set[str]]:
    return {name: set(s.incidents) for name, s in load_scenarios().items()}


async def test_every_scenario_raises_exactly_its_incidents(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await play(sessions, clock, vault, SandboxState(clock=clock), Detector())
    assert await raised(sessions) == expected()
    async with sessions() as session:
        opened = (
            await session.scalars(select(IncidentChange.incident_id).where(IncidentChange.action == "opened"))
        ).all()
        incidents = (await session.scalars(select(Incident))).all()
    assert sorted(opened) == sorted(i.id for i in incidents)  # each opened once, never duplicated
    by_kind = {i.kind: i for i in incidents}
    assert by_kind["stalled"].status == "resolved" and by_kind["stalled"].outcome == "no_action"  # it moved again
    assert by_kind["delayed"].resolved_by == "detector"  # `late` was delivered: delayed → delivered_late
    assert by_kind["delivered_late"].status == "open"
    assert by_kind["lost"].severity == "critical" and by_kind["lost"].owner == "claims"
    assert by_kind["awaiting_pickup"].severity == "high"  # escalated as its pickup deadline drew near


async def test_a_long_carrier_outage_raises_no_incident_from_the_silence(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    sandbox = SandboxState(clock=clock)
    # six days without answers, while the parcels keep moving at the carrier
    sandbox.faults.outages.append((clock.now() + timedelta(days=1), clock.now() + timedelta(days=7)))
    report = await play(sessions, clock, vault, sandbox, Detector())
    assert report.errors.keys() == {"carrier_unavailable"}
    found, wanted = await raised(sessions), expected()
    assert all(found[name] <= wanted[name] for name in wanted), found  # nothing raised by the silence
    # what the parcels went through is still raised once the carrier answers again; a failed attempt
    # followed by a delivery, both within the outage, is already over when Zelo learns of it
    assert {name for name in wanted if found[name] != wanted[name]} <= {"failed_attempts", "pickup_returned"}
    assert found["lost"] >= {"lost"} and found["stolen"] == {"stolen"} and found["damaged"] == {"damaged"}
