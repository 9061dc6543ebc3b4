"""The ERP webhook on real databases: signatures, replays, idempotent upserts, concurrency, rejections."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import Erp, serve
from tracker.clock import SimulatedClock
from tracker.ingest import pg
from tracker.ingest.models import ShipmentRevision, WebhookReceipt
from tracker.ingest.sql import SqlStore
from tracker.ingest.tasks import purge
from tracker.models import Shipment

Sessions = async_sessionmaker[AsyncSession]


def shipment(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": f"PED-{n}",
        "carrier": "correios",
        "tracking_code": make_code("SS", n),
        "customer": {"name": "Maria", "phone": "+5511987654321"},
        **extra,
    }


async def count(sessions: Sessions, model: type[Any] = Shipment) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_batch_is_created_then_unchanged_when_sent_again(erp: Erp, sessions: Sessions) -> None:
    batch = [shipment(n) for n in range(1, 4)]
    first = await erp.push(batch)
    assert first.status_code == 202
    assert [r["result"] for r in first.json()["results"]] == ["created"] * 3
    for _ in range(9):
        again = await erp.push(batch)
        assert [r["result"] for r in again.json()["results"]] == ["unchanged"] * 3
    assert await count(sessions) == 3
    ids = {r["id"] for r in first.json()["results"]}
    assert {r["id"] for r in again.json()["results"]} == ids and None not in ids


async def test_replayed_webhook_id_is_answered_as_before_without_work(erp: Erp, sessions: Sessions) -> None:
    first = await erp.push([shipment(1)], msg_id="msg_replay")
    replay = await erp.push([shipment(1)], msg_id="msg_replay")  # the same body again
    assert replay.status_code == 202 and replay.headers["webhook-replayed"] == "true"
    assert replay.json() == first.json()
    assert await count(sessions, WebhookReceipt) == 1


async def test_a_webhook_id_reused_for_another_body_is_a_conflict(erp: Erp, sessions: Sessions) -> None:
    await erp.push([shipment(1)], msg_id="msg_reused")
    other = await erp.push([shipment(1, service="PAC")], msg_id="msg_reused")  # new data, validly signed
    assert other.status_code == 409 and other.headers["content-type"] == "application/problem+json"
    assert other.json()["title"] == "webhook-id reused"
    assert other.json()["detail"] == (
        "webhook-id 'msg_reused' was used with a different body; send new data under a new webhook-id "
        "(the same body again is answered as before)"
    )
    async with sessions() as session:
        assert (await session.scalars(select(Shipment.service))).all() == [None]  # nothing of it was stored
    assert await count(sessions, WebhookReceipt) == 1
    again = await erp.push([shipment(1)], msg_id="msg_reused")
    assert again.status_code == 202 and again.headers["webhook-replayed"] == "true"


async def test_one_webhook_id_with_two_bodies_at_once_stores_one(erp: Erp, sessions: Sessions) -> None:
    answers = await asyncio.gather(
        erp.push([shipment(1, service="SEDEX")], msg_id="msg_twice"),
        erp.push([shipment(1, service="PAC")], msg_id="msg_twice"),
    )
    assert sorted(a.status_code for a in answers) == [202, 409]
    async with sessions() as session:
        [service] = (await session.scalars(select(Shipment.service))).all()
    winner = next(a for a in answers if a.status_code == 202)
    assert service == ("SEDEX" if winner is answers[0] else "PAC")
    assert await count(sessions, WebhookReceipt) == 1


async def test_a_receipt_stored_without_a_body_hash_still_answers_its_replays(erp: Erp, sessions: Sessions) -> None:
    first = await erp.push([shipment(1)], msg_id="msg_before_hashes")
    async with sessions() as session, session.begin():  # as receipts stored before body hashes were
        await session.execute(update(WebhookReceipt).values(body_hash=None))
    replay = await erp.push([shipment(1, service="PAC")], msg_id="msg_before_hashes")
    assert (replay.status_code, replay.json()) == (202, first.json())


async def test_the_same_batch_sent_concurrently_leaves_one_row_per_shipment(erp: Erp, sessions: Sessions) -> None:
    batch = [shipment(n) for n in range(1, 21)]
    answers = await asyncio.gather(*(erp.push(batch) for _ in range(10)))
    assert all(a.status_code == 202 for a in answers)
    outcomes = [r["result"] for a in answers for r in a.json()["results"]]
    assert outcomes.count("created") == 20 and outcomes.count("unchanged") == 180
    assert await count(sessions) == 20


async def test_an_update_is_applied_and_recorded(erp: Erp, sessions: Sessions) -> None:
    await erp.push([shipment(1, promised_delivery_date="2026-11-09")])
    fixed = shipment(1, promised_delivery_date="2026-11-12", customer={"phone": "+5511900001111"})
    answer = await erp.push([fixed])
    [result] = answer.json()["results"]
    assert result["result"] == "updated"
    assert result["changed"] == ["customer_phone", "promised_delivery_date"]
    async with sessions() as session:
        row = (await session.scalars(select(Shipment))).one()
        assert (str(row.promised_delivery_date), row.customer_phone, row.customer_name) == (
            "2026-11-12",
            "+5511900001111",
            "Maria",
        )
        revision = (await session.scalars(select(ShipmentRevision))).one()
    assert revision.changes == {
        "customer_phone": ["+5511987654321", "+5511900001111"],
        "promised_delivery_date": ["2026-11-09", "2026-11-12"],
    }
    assert revision.source.startswith("webhook:msg_")


async def test_a_corrected_tracking_code_restarts_tracking(erp: Erp, sessions: Sessions) -> None:
    await erp.push([shipment(1)])
    answer = await erp.push([shipment(1, tracking_code=make_code("SS", 99))])
    assert answer.json()["results"][0]["changed"] == ["tracking_code"]
    async with sessions() as session:
        row = (await session.scalars(select(Shipment))).one()
    assert (row.tracking_code, row.status, row.next_poll_at is not None) == (make_code("SS", 99), "pending", True)


async def test_a_tracking_code_corrected_while_a_poller_holds_the_shipment_is_due_at_once(
    erp: Erp, sessions: Sessions
) -> None:
    await erp.push([shipment(1)])
    async with sessions() as session, session.begin():  # a poller's lease on the old code, minutes long
        await session.execute(update(Shipment).values(poll_leased_until=datetime.now(UTC) + timedelta(minutes=5)))
    await erp.push([shipment(1, tracking_code=make_code("SS", 99))])
    async with sessions() as session:
        row = (await session.scalars(select(Shipment))).one()
    assert (row.tracking_code, row.poll_leased_until) == (make_code("SS", 99), None)  # the old lease is let go


async def test_bad_items_are_rejected_with_reasons_and_good_ones_kept(erp: Erp, sessions: Sessions) -> None:
    answer = await erp.push(
        [
            shipment(1),
            shipment(2, tracking_code="SS000000000XX"),
            {"carrier": "correios"},
            shipment(3, gift_wrap=True),
            shipment(4, declared_value="10000000000.00"),  # more than the column holds
        ]
    )
    results = answer.json()["results"]
    assert [r["result"] for r in results] == ["created", "rejected", "rejected", "created", "rejected"]
    assert results[1]["errors"][0]["field"] == "tracking_code"
    assert {e["field"] for e in results[2]["errors"]} == {"tracking_code"}
    assert results[3]["warnings"] == ["unknown field 'gift_wrap' ignored"]
    assert [e["field"] for e in results[4]["errors"]] == ["declared_value"]
    assert await count(sessions) == 2


async def test_conflicting_identities_are_rejected(erp: Erp, sessions: Sessions) -> None:
    await erp.push([shipment(1), shipment(2)])
    answer = await erp.push(
        [shipment(1, tracking_code=make_code("SS", 2)), shipment(7, tracking_code=make_code("SS", 1))]
    )
    a, b = answer.json()["results"]
    assert a["result"] == b["result"] == "rejected"
    assert "already belongs to another shipment (external_id 'PED-2')" in a["errors"][0]["message"]
    assert "already tracked for external_id 'PED-1', not 'PED-7'" in b["errors"][0]["message"]


async def test_bad_signature_stale_timestamp_and_bad_envelopes_store_nothing(
    erp: Erp, http: httpx.AsyncClient, sessions: Sessions
) -> None:
    body = json.dumps({"type": "shipment.upsert", "data": {"shipments": [shipment(1)]}}).encode()
    tampered = await http.post("/v1/webhooks/erp", content=body.replace(b"PED-1", b"PED-9"), headers=erp.signed(body))
    assert tampered.status_code == 401
    assert tampered.headers["content-type"] == "application/problem+json"
    assert tampered.json()["detail"].startswith("no valid signature")
    stale = erp.signed(body)
    erp.clock.advance(timedelta(minutes=6))
    assert (await http.post("/v1/webhooks/erp", content=body, headers=stale)).status_code == 401
    for envelope, status in (
        (b"not json", 400),
        (b'{"type": "order.created", "data": {"shipments": []}}', 422),
        (b'{"type": "shipment.upsert", "data": {}}', 422),
        (b"[]", 422),
    ):
        answer = await http.post("/v1/webhooks/erp", content=envelope, headers=erp.signed(envelope))
        assert answer.status_code == status, envelope
    too_many = await erp.push([shipment(1)] * 1001)
    assert too_many.status_code == 422 and "1001 shipments; at most 1000" in too_many.text
    huge = b" " * 5_000_001
    assert (await http.post("/v1/webhooks/erp", content=huge, headers=erp.signed(huge))).status_code == 413
    assert await count(sessions) == 0 and await count(sessions, WebhookReceipt) == 0


async def test_receipts_are_kept_72_hours_at_least_then_purged(
    erp: Erp, sessions: Sessions, clock: SimulatedClock
) -> None:
    await erp.push([shipment(1)], msg_id="msg_old")
    clock.advance(timedelta(hours=73))
    replay = await erp.push([shipment(1)], msg_id="msg_old")
    assert replay.headers["webhook-replayed"] == "true"
    assert (await purge(sessions, clock.now()))["receipts"] == 0
    clock.advance(timedelta(days=7))
    assert (await purge(sessions, clock.now()))["receipts"] == 1
    assert await count(sessions, WebhookReceipt) == 0


async def test_omitted_fields_keep_their_stored_values(erp: Erp, sessions: Sessions) -> None:
    full = shipment(1, customer={"name": "Maria", "consent": True}, items=[{"sku": "A1", "quantity": 2}])
    await erp.push([full])
    answer = await erp.push([{"external_id": "PED-1", "carrier": "correios", "tracking_code": make_code("SS", 1)}])
    assert answer.json()["results"][0]["result"] == "unchanged"
    async with sessions() as session:
        row = (await session.scalars(select(Shipment))).one()
    assert (row.customer_consent, row.items, row.customer_name) == (True, [{"sku": "A1", "quantity": 2}], "Maria")


async def test_two_workers_updating_one_shipment_at_once_keep_both_changes(
    erp: Erp, sessions: Sessions, engine: AsyncEngine, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await erp.push([shipment(1)])
    for store in (pg.PgStore, SqlStore):
        original = store.lookup

        async def slow(self: Any, *args: Any, original: Any = original) -> Any:
            found = await original(self, *args)
            await asyncio.sleep(0.2)  # both workers read the stored row before either writes
            return found

        monkeypatch.setattr(store, "lookup", slow)
    async with serve(engine, clock) as other_worker:
        answers = await asyncio.gather(
            erp.push([shipment(1, customer={"phone": "+5511900001111"})]),
            Erp(other_worker, clock).push([shipment(1, promised_delivery_date="2026-11-12")]),
        )
    assert [a.json()["results"][0]["result"] for a in answers] == ["updated", "updated"]
    async with sessions() as session:
        row = (await session.scalars(select(Shipment))).one()
        revisions = (await session.scalars(select(ShipmentRevision))).all()
    assert (row.customer_phone, str(row.promised_delivery_date)) == ("+5511900001111", "2026-11-12")
    assert sorted(k for r in revisions for k in r.changes) == ["customer_phone", "promised_delivery_date"]


async def test_webhooks_survive_postgres_dropping_every_connection(
    erp: Erp, sessions: Sessions, engine: AsyncEngine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("connection loss is a PostgreSQL server fault")
    assert (await erp.push([shipment(1)])).status_code == 202  # pooled connections now exist
    async with engine.connect() as conn:  # what a PostgreSQL restart does to every client connection
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    answer = await erp.push([shipment(2)])
    assert answer.status_code == 202 and answer.json()["results"][0]["result"] == "created"
    assert await count(sessions) == 2


async def test_on_postgres_new_webhooks_take_two_round_trips_and_a_reused_id_one(
    erp: Erp, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the asyncpg store's statements")
    await erp.push([shipment(1)], msg_id="msg_first")  # the carrier accounts are read (then cached)
    sent: list[str] = []
    for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
        original = getattr(asyncpg.Connection, name)

        async def counted(self: Any, query: str, *args: Any, original: Any = original, **kwargs: Any) -> Any:
            sent.append(query)
            return await original(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, name, counted)
    assert (await erp.push([shipment(2), shipment(3)])).status_code == 202
    assert sent == [pg.LOOKUP, pg.STORE]
    sent.clear()
    assert (await erp.push([shipment(4)], msg_id="msg_first")).status_code == 409  # the hash compared in the lookup
    assert sent == [pg.LOOKUP]
