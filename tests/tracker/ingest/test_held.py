"""A shipment pushed before its carrier account exists is stored and held (not polled), with a warning; adding
the account releases it: it becomes due for polling."""

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.support import correios_account
from tests.tracker.ingest.conftest import Erp
from tracker.clock import SimulatedClock
from tracker.detector import Detector
from tracker.detector.sweep import sweep
from tracker.ingest.schemas import parse_item
from tracker.ingest.service import upsert, valid
from tracker.ingest.sql import SqlStore
from tracker.models import Shipment
from tracker.polling import Poller
from tracker.polling.accounts import release_held
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
NO_ACCOUNT = (
    "carrier: no correios account is configured yet: add one with `zelo accounts add correios ...`; "
    "the shipment is stored and held (not polled) until it is added"
)


def shipment(n: int, **extra: Any) -> dict[str, Any]:
    return {"external_id": f"PED-{n}", "carrier": "correios", "tracking_code": make_code("SS", n), **extra}


async def rows(sessions: Sessions) -> list[tuple[str | None, int | None, Any, str | None]]:
    async with sessions() as session:
        found = await session.scalars(select(Shipment).order_by(Shipment.id))
        return [(r.external_id, r.carrier_account_id, r.next_poll_at, r.held_reason) for r in found]


async def test_a_shipment_without_its_carrier_account_is_stored_held_and_released_by_adding_it(
    http: httpx.AsyncClient,
    clock: SimulatedClock,
    sessions: Sessions,
    vault: Vault,
    keys: dict[str, dict[str, str]],
) -> None:
    erp = Erp(http, clock)
    answer = await erp.push([shipment(1), shipment(2, carrier_account="loja-rj")], msg_id="msg_early")
    first, second = answer.json()["results"]
    assert (first["result"], first["errors"], first["warnings"]) == ("created", [], [NO_ACCOUNT])
    assert second["result"] == "created" and second["warnings"] == [
        "carrier_account: no correios account named 'loja-rj' (known: none): add it with "
        "`zelo accounts add correios --name loja-rj ...`; the shipment is stored and held (not polled) until it is "
        "added"
    ]
    assert await rows(sessions) == [("PED-1", None, None, "no_account"), ("PED-2", None, None, "no_account")]
    detail = await http.get(f"/v1/shipments/{first['id']}", headers=keys["reader"])
    assert (detail.json()["held_reason"], detail.json()["next_poll_at"]) == ("no_account", None)
    replay = await erp.push([shipment(1), shipment(2, carrier_account="loja-rj")], msg_id="msg_early")
    assert replay.json() == answer.json()  # the webhook id answered what was stored: no rejection spent it

    clock.advance(timedelta(minutes=1))
    async with sessions() as session, session.begin():
        loja = await correios_account(session, vault, name="loja", now=clock.now())
        assert await release_held(session, clock.now()) == 1  # as `zelo accounts add` does: the unnamed one
    assert await rows(sessions) == [("PED-1", loja, clock.now(), None), ("PED-2", None, None, "no_account")]
    async with sessions() as session, session.begin():
        rj = await correios_account(session, vault, name="loja-rj", now=clock.now())
        assert await release_held(session, clock.now()) == 1
    assert (await rows(sessions))[1] == ("PED-2", rj, clock.now(), None)
    listed = await http.get("/v1/shipments", headers=keys["reader"])
    assert [s["held_reason"] for s in listed.json()["shipments"]] == [None, None]


async def test_an_update_while_held_stays_held_and_a_named_account_that_is_missing_keeps_the_one_it_has(
    http: httpx.AsyncClient, clock: SimulatedClock, sessions: Sessions, vault: Vault
) -> None:
    erp = Erp(http, clock)
    await erp.push([shipment(1)])
    again = await erp.push([shipment(1, order_number="9")])
    [result] = again.json()["results"]
    assert (result["result"], result["warnings"]) == ("updated", [NO_ACCOUNT])
    async with sessions() as session, session.begin():
        loja = await correios_account(session, vault, name="loja", now=clock.now())
        await release_held(session, clock.now())
    renamed = await erp.push([shipment(1, carrier_account="outra")])
    [result] = renamed.json()["results"]
    assert result["result"] == "unchanged" and result["warnings"] == [
        "carrier_account: no correios account named 'outra' (known: loja): add it with "
        "`zelo accounts add correios --name outra ...`; the shipment stays on the account it has"
    ]
    assert await rows(sessions) == [("PED-1", loja, clock.now(), None)]


async def test_one_held_by_a_writer_that_raced_the_account_is_released_by_the_next_poll_cycle(
    clock: SimulatedClock, sessions: Sessions, vault: Vault
) -> None:
    async with sessions() as session, session.begin():  # a writer that read "no accounts" just before one was added
        parsed = parse_item(0, shipment(1))[0]
        assert parsed is not None
        await upsert(SqlStore(session), [valid(0, parsed)], source="test", now=clock.now(), accounts=[])
        loja = await correios_account(session, vault, name="loja", now=clock.now())
        await session.execute(
            update(Shipment).values(carrier_account_id=None, held_reason="no_account", next_poll_at=None)
        )
    poller = Poller(sessions, httpx.AsyncClient(), clock, vault, chunk=0)  # claims nothing: no carrier is called
    assert (await poller.run_once()).released == 1
    assert await rows(sessions) == [("PED-1", loja, clock.now(), None)]
    async with sessions() as session, session.begin():
        assert await release_held(session, clock.now()) == 0


async def test_a_held_shipment_raises_no_incident_from_never_being_polled(
    http: httpx.AsyncClient, clock: SimulatedClock, sessions: Sessions
) -> None:
    await Erp(http, clock).push([shipment(1)])
    clock.advance(timedelta(days=20))  # well past not_posted's business days
    done = await sweep(sessions, Detector(), clock.now())
    assert not done.opened
