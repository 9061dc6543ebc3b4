"""A worker killed with SIGKILL in the middle of a claim filing (to the sandbox's pedido-informacao replica):
after a new worker takes over, each parcel has exactly one claim at the carrier, and Zelo records its protocol."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from arq import ArqRedis
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxState
from claims.filing import LEASE
from claims.models import Claim
from claims.policy import POLICIES_FILE, load_policies
from claims.service import Claims
from tests.scaled.harness import SECRET, Workers, one_more_run, sandbox, until
from tests.support import correios_account
from tracker.db import make_sessionmaker
from tracker.detector import incidents_table
from tracker.models import Shipment
from tracker.shipments.service import NewShipment, register
from tracker.signals import Raised
from tracker.vault import Vault
from tracker.vocabulary import Kind, Severity

CLAIMS = 120  # three cadastra requests of 50, 40 and 30 claims


def auto_filing(folder: Path) -> Path:
    """The built-in claim policies, filed without the store's click."""
    path = folder / "policies.toml"
    text = POLICIES_FILE.read_text()
    path.write_text(text.replace('filing = "approval"', 'filing = "auto"', 1))
    return path


async def lost_parcels(pg: AsyncEngine, state: SandboxState, base_url: str, policies: Path) -> None:
    """``CLAIMS`` parcels lost for weeks, at the sandbox and in Zelo, each with its claim ready to file."""
    now = datetime.now(UTC)
    start = now - timedelta(days=20)
    codes = [make_code("CK", i) for i in range(CLAIMS)]
    state.register(Parcel(code, "lost", start) for code in codes)
    claims = Claims(load_policies(policies))
    async with make_sessionmaker(pg)() as session, session.begin():
        account = await correios_account(session, Vault(SECRET), name="sandbox", base_url=base_url, now=now)
        await register(session, [NewShipment("correios", account, c, external_id=f"o-{c}") for c in codes], now)
        facts = {
            "service": "PAC", "customer_name": "Maria Silva", "shipping_cost": Decimal("30.00"),
            "declared_value": Decimal("200.00"), "destination_state": "SP",
            "carrier_expected_delivery": (start + timedelta(days=7)).date(),
        }  # fmt: skip
        await session.execute(update(Shipment).values(**facts))
        raised = []
        for shipment_id in await session.scalars(select(Shipment.id)):
            row = {
                "shipment_id": shipment_id, "kind": Kind.LOST.value, "status": "open", "severity": "high",
                "owner": "ops", "next_action": "-", "trigger": "test", "evidence": {}, "opened_at": now,
                "updated_at": now, "triage_due_at": now, "reopened_count": 0,
            }  # fmt: skip
            incident = (
                await session.execute(insert(incidents_table).returning(incidents_table.c.id), row)
            ).scalar_one()
            raised.append(Raised(incident, shipment_id, Kind.LOST, "opened", Severity.HIGH, {}, "test"))
        await claims(session, raised, [], now)


async def claim_rows(pg: AsyncEngine) -> list[Claim]:
    async with make_sessionmaker(pg)() as session:
        return list(await session.scalars(select(Claim)))


async def test_a_worker_killed_mid_filing_files_each_claim_once(
    redis: ArqRedis, pg: AsyncEngine, workers: Workers, tmp_path: Path
) -> None:
    state = SandboxState()
    policies = auto_filing(tmp_path)
    with sandbox(state) as url:
        await lost_parcels(pg, state, url, policies)
        assert {c.status for c in await claim_rows(pg)} == {"ready"}
        state.faults.latency_ms = 800
        first = workers.start(claims_policies=policies)
        await until(lambda: state.counters.requests["cadastra"] >= 1, 30, "a first filing answered", workers.logs)
        workers.kill(first)  # the carrier holds some claims; Zelo recorded none of its answers
        assert 0 < len(state.claims) < CLAIMS
        assert {c.status for c in await claim_rows(pg)} == {"filing"}
        state.faults.latency_ms = 0
        async with make_sessionmaker(pg)() as session, session.begin():  # the filing lease has passed
            lapsed = datetime.now(UTC) - LEASE - timedelta(seconds=1)
            await session.execute(update(Claim).where(Claim.status == "filing").values(updated_at=lapsed))
        workers.start(claims_policies=policies)
        await one_more_run(redis, "file_claims")  # the killed run holds this period's id: one more, as a tick

        async def settled() -> bool:
            return {c.status for c in await claim_rows(pg)} == {"filed"}

        await until(settled, 30, "every claim filed", workers.logs)
    assert len(state.claims) == CLAIMS
    assert all(len(protocols) == 1 for protocols in state.object_claims.values())  # one claim per parcel
    async with make_sessionmaker(pg)() as session:
        recorded = dict((await session.execute(select(Shipment.tracking_code, Claim.protocol).join(Claim))).all())
    assert recorded == {code: protocols[0] for code, protocols in state.object_claims.items()}
