"""The pages' queries on both databases: the alert queue pages by triage deadline without a gap or a repeat, a
search finds a shipment by each of its four handles; on PostgreSQL each list is read through an index (with
sequential scans and sorts priced out, a plan that still scans a table has no index to use, and a list that is
still sorted has no index in its order)."""

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from claims import NOT_FILED
from claims.vocabulary import ClaimStatus
from dashboard.alerts import PAGE, incidents_query, queue_query
from dashboard.claims_page import claims_query
from dashboard.models import UNFILED
from dashboard.shipments import search_query
from tests.dashboard.seed import _incident, _shipment, seed
from tracker.clock import SimulatedClock
from tracker.vocabulary import Severity


async def _many_incidents(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, n: int) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        shipments = [_shipment(f"ZZ{i:09d}BR", f"P-{i}", now) for i in range(n)]
        session.add_all(shipments)
        await session.flush()
        severities = list(Severity)
        session.add_all(
            _incident(s.id, "stalled", severities[i % 4].value, now + timedelta(minutes=i % 7), now)
            for i, s in enumerate(shipments)
        )


async def test_the_alert_queue_pages_by_triage_deadline(
    sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    await _many_incidents(sessions, clock, PAGE + 12)
    seen: list[int] = []
    after = None
    async with sessions() as session:
        for _ in range(3):
            rows = list((await session.execute(incidents_query(None, after))).all())[:PAGE]
            if not rows:
                break
            seen += [r[0].id for r in rows]
            dues = [(r[0].triage_due_at, r[0].id) for r in rows]
            assert dues == sorted(dues)
            after = dues[-1]
        high = list((await session.execute(incidents_query(Severity.HIGH, None))).all())
    assert len(seen) == PAGE + 12 and len(set(seen)) == len(seen)
    assert {r[0].severity for r in high} == {"high"}


async def test_a_search_finds_a_shipment_by_each_handle(
    sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    ids = await seed(sessions, clock.now())
    async with sessions() as session:
        for term in ("PED-1001", "ab123456789br", "erp-1001", "JOANA@example.com", " PED-1001 "):
            found = list(await session.scalars(search_query(term, None, None)))
            assert [s.id for s in found] == [ids.shipment], term
        assert list(await session.scalars(search_query("Joana", None, None))) == []  # no partial matches


def _plans() -> dict[str, Select[Any]]:
    return {
        "search": search_query("PED-1", None, None).limit(26),
        "incidents": incidents_query(None, None),
        "wa queue": queue_query(),
        "open claims": claims_query("open").limit(26),
    }


async def test_every_list_reads_an_index_on_postgresql(pg_engine: Any, clock: SimulatedClock) -> None:
    async with pg_engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        await conn.execute(text("SET enable_sort = off"))  # likewise: a sort that stays has no index in order
        for name, query in _plans().items():
            compiled = query.compile(pg_engine.sync_engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(r[0] for r in await conn.execute(text(f"EXPLAIN {compiled}")))
            scanned = [t for t in ("shipments", "incidents", "notifications", "claims") if f"Seq Scan on {t}" in plan]
            assert scanned == [], f"{name}:\n{plan}"
            if name != "search":  # read in the page's order: the first rows, not a sort of them all
                assert "Sort" not in plan, f"{name}:\n{plan}"


def test_the_unfiled_claims_index_matches_the_claims_vocabulary() -> None:
    ordered = sorted(NOT_FILED, key=list(ClaimStatus).index)
    assert f"status IN ({', '.join(repr(s.value) for s in ordered)})" == UNFILED
