"""Applying stored pushes: an unreadable one keeps its error without blocking the others, concurrent replays store
one push, a poll after a push keeps the carrier's push interval, and old pushes and parked codes are forgotten."""

import asyncio
import hashlib
import json
import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.loggi.parse import parse_package
from tests.carriers.loggi.samples import journey, package
from tests.tracker.pushes.conftest import count, loggi_push, settled
from tracker.clock import SimulatedClock
from tracker.models import Shipment
from tracker.polling import CLAIMED_COLUMNS, store_outcomes
from tracker.pushes.models import CarrierPush, ParkedPush, pushes_table
from tracker.pushes.parked import forget
from tracker.pushes.pending import apply_pending
from tracker.pushes.tasks import PARKED_KEPT, PUSHES_KEPT
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


async def test_the_same_push_sent_twice_at_once_is_stored_once(
    http: httpx.AsyncClient, sessions: Sessions, loggi: int
) -> None:
    push = loggi_push([package(journey())])
    answers = await asyncio.gather(*(http.post("/v1/webhooks/carriers/loggi", **push) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 202]
    assert await count(sessions, CarrierPush) == 1
    async with sessions() as session:
        stored = await session.scalar(select(CarrierPush.id))
    # every answer names the one stored push (its id is whichever sequence value the winning insert drew:
    # PostgreSQL's ON CONFLICT DO NOTHING takes one per attempt, so it need not be 1)
    assert {a.json()["push_id"] for a in answers} == {stored}


async def test_an_unreadable_push_keeps_its_error_and_the_next_ones_are_applied(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, loggi: int
) -> None:
    async with sessions() as session, session.begin():
        for body in (b'{"packages": "not a list"}', json.dumps({"packages": [package(journey())]}).encode()):
            await session.execute(
                pushes_table.insert().values(
                    carrier="loggi",
                    carrier_account_id=loggi,
                    body_sha256=hashlib.sha256(body).hexdigest(),
                    body=vault.seal_bytes(body),
                    results=1,
                    received_at=clock.now(),
                    parked=0,
                )
            )
    report = await apply_pending(sessions, vault, now=clock.now(), rng=random.Random(1), detector=None)
    assert (report.pushes, report.failed) == (1, 1)
    async with sessions() as session:
        pushes = list(await session.scalars(select(CarrierPush).order_by(CarrierPush.id)))
        status = await session.scalar(select(Shipment.status))
    assert pushes[0].applied_at is None and "packages" in (pushes[0].error or "")
    assert pushes[1].applied_at == clock.now() and pushes[1].error is None
    assert status == "delivered"
    again = await apply_pending(sessions, vault, now=clock.now(), rng=random.Random(1), detector=None)
    assert (again.pushes, again.failed) == (0, 0)  # the unreadable one is not retried forever


@pytest.mark.parametrize("answer", ["unchanged", "failed"])
async def test_a_poll_after_a_push_waits_for_the_carriers_push_interval(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, clock: SimulatedClock, loggi: int, answer: str
) -> None:
    from tracker.polling.outcomes import Failure

    await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey()[:3])]))
    await settled(app)
    pushed_at = clock.now()
    clock.advance(timedelta(hours=1))
    polled = (  # what the push said, nothing new; or a carrier fault, whose back-off alone would say 15 minutes
        parse_package(package(journey()[:3])) if answer == "unchanged" else Failure("carrier_unavailable", "503")
    )
    async with sessions() as session, session.begin():
        rows = (await session.execute(select(*CLAIMED_COLUMNS))).all()
        await store_outcomes(session, rows, {rows[0].id: polled}, now=clock.now(), rng=random.Random(1))
    async with sessions() as session:
        shipment = (await session.scalars(select(Shipment))).one()
    assert shipment.last_polled_at == clock.now() and shipment.status == "in_transit"
    assert shipment.next_poll_at is not None and shipment.next_poll_at >= pushed_at + timedelta(hours=12)


async def test_old_pushes_and_parked_codes_are_forgotten_but_not_a_push_a_parked_code_needs(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, vault: Vault, clock: SimulatedClock, loggi: int
) -> None:
    await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey())]))
    await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey(), trackingCode="SH0000000009LG")]))
    await settled(app)
    assert await count(sessions, ParkedPush) == 1
    clock.advance(PUSHES_KEPT + timedelta(hours=1))
    async with sessions() as session, session.begin():
        gone = await forget(session, parked_before=clock.now() - PARKED_KEPT, applied_before=clock.now() - PUSHES_KEPT)
    assert gone == {"parked": 0, "pushes": 1}  # the parked code's push stays while the code waits
    clock.advance(PARKED_KEPT)
    async with sessions() as session, session.begin():
        gone = await forget(session, parked_before=clock.now() - PARKED_KEPT, applied_before=clock.now() - PUSHES_KEPT)
    assert gone == {"parked": 1, "pushes": 1}
    assert await count(sessions, CarrierPush) == 0


async def store_push(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, account_id: int, packages: list[Any]
) -> None:
    body = json.dumps({"packages": packages}).encode()
    async with sessions() as session, session.begin():
        await session.execute(
            pushes_table.insert().values(
                carrier="loggi",
                carrier_account_id=account_id,
                body_sha256=hashlib.sha256(body).hexdigest(),
                body=vault.seal_bytes(body),
                results=len(packages),
                received_at=clock.now(),
                parked=0,
            )
        )


async def test_a_fault_of_the_moment_leaves_the_push_pending_and_a_refused_one_keeps_its_error(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, loggi: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import DataError, OperationalError

    from tracker.pushes import pending

    await store_push(sessions, vault, clock, loggi, [package(journey(), trackingCode="SH0000000666LG")])
    await store_push(sessions, vault, clock, loggi, [package(journey())])
    real = pending.apply_results

    async def lost_connection(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(pending, "apply_results", lost_connection)
    report = await apply_pending(sessions, vault, now=clock.now(), rng=random.Random(1), detector=None)
    assert (report.pushes, report.failed) == (0, 0)
    async with sessions() as session:
        assert [(p.applied_at, p.error) for p in await session.scalars(select(CarrierPush))] == [(None, None)] * 2

    async def refuses_one(session: Any, items: Any, **kwargs: Any) -> Any:
        if any(i.result.tracking_code == "SH0000000666LG" for i in items):
            raise DataError("INSERT", {}, Exception("value too long"))
        return await real(session, items, **kwargs)

    monkeypatch.setattr(pending, "apply_results", refuses_one)
    report = await apply_pending(sessions, vault, now=clock.now(), rng=random.Random(1), detector=None)
    assert (report.pushes, report.failed) == (1, 1)
    async with sessions() as session:
        pushes = list(await session.scalars(select(CarrierPush).order_by(CarrierPush.id)))
    assert pushes[0].error == "DataError" and pushes[0].applied_at is None  # no text of the error: it may quote data
    assert pushes[1].applied_at == clock.now()


def test_an_old_push_applied_late_never_replaces_a_newer_forecast() -> None:
    from datetime import date

    from carriers.loggi.parse import parse_package
    from tracker.pushes.apply import merge

    newer = parse_package(package(journey()[:4], promisedDate="2021-05-07"))
    older = parse_package(package(journey()[:2], promisedDate="2021-05-04"))

    class Row:
        tracking_code, carrier_expected_delivery = newer.tracking_code, date(2021, 5, 7)

    merged = merge(Row(), newer.events, [older])
    assert merged.expected_delivery == date(2021, 5, 7) and len(merged.events) == 4
    fresh = merge(Row(), older.events, [newer])
    assert fresh.expected_delivery == date(2021, 5, 7) and len(fresh.events) == 4
    later = parse_package(package(journey(), promisedDate="2021-05-06"))
    assert merge(Row(), newer.events, [later]).expected_delivery == date(2021, 5, 6)  # news moves it


async def test_a_push_kept_with_an_error_is_forgotten_after_the_parked_retention(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, loggi: int
) -> None:
    await store_push(sessions, vault, clock, loggi, [])
    async with sessions() as session, session.begin():
        await session.execute(update(pushes_table).values(error="contract_error: unreadable"))
    clock.advance(PARKED_KEPT + timedelta(hours=1))
    async with sessions() as session, session.begin():
        gone = await forget(session, parked_before=clock.now() - PARKED_KEPT, applied_before=clock.now() - PUSHES_KEPT)
    assert gone == {"parked": 0, "pushes": 1}
