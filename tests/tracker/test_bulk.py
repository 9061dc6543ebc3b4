"""tracker.bulk: many rows in one statement (PostgreSQL's json_to_recordset, SQLite's executemany), the same rows
stored."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.bulk import insert_rows, update_rows
from tracker.models import events_table, shipments_table

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
EVENT_KEY = ["shipment_id", "occurred_at", "code"]


async def _shipments(sessions: Sessions, n: int) -> list[int]:
    rows = [
        {
            "carrier": "fake",
            "tracking_code": f"FK{i}",
            "destination_city": "Recife",
            "poll_error": "timeout",
            "poll_error_count": 3,
            "customer_consent": True,
            "shipped_at": T0,
            "promised_delivery_date": date(2026, 11, 9),
            "items": [{"sku": "A"}],
            "created_at": T0,
            "updated_at": T0,
        }
        for i in range(n)
    ]
    async with sessions() as session, session.begin():
        return list(await session.scalars(insert(shipments_table).returning(shipments_table.c.id), rows))


async def _read(sessions: Sessions, ids: list[int], *columns: str) -> list[tuple[Any, ...]]:
    c = shipments_table.c
    async with sessions() as session:
        stmt = select(*(c[name] for name in columns)).where(c.id.in_(ids)).order_by(c.id)
        return [tuple(r) for r in await session.execute(stmt)]


async def test_update_rows_sets_the_given_columns_of_the_given_shipments_only(sessions: Sessions) -> None:
    a, b, c = await _shipments(sessions, 3)
    shipped = datetime(2026, 11, 3, 22, 30, tzinfo=SAO_PAULO)  # 01:30 UTC the next day
    rows = [
        {
            "_id": a,
            "shipped_at": shipped,
            "last_event_at": shipped + timedelta(hours=1),
            "promised_delivery_date": date(2026, 11, 20),
            "customer_consent": False,
            "poll_error_count": 0,
            "poll_error": None,
            "status": "in_transit",
            "items": [{"sku": "B", "nome": "Camisa ação", "qty": 2}],
        },
        {
            "_id": c,
            "shipped_at": None,
            "last_event_at": None,
            "promised_delivery_date": None,
            "customer_consent": True,
            "poll_error_count": 7,
            "poll_error": "não encontrado",
            "status": "posted",
            "items": None,
        },
    ]
    async with sessions() as session, session.begin():
        await update_rows(session, shipments_table, rows)

    columns = [k for k in rows[0] if k != "_id"]
    got = await _read(sessions, [a, c], *columns)
    assert got == [tuple(r[k] for k in columns) for r in rows]
    assert got[0][0] == datetime(2026, 11, 4, 1, 30, tzinfo=UTC)  # the same instant, read back in UTC
    # what was not given stays: the other shipment, and the given ones' other columns
    assert await _read(sessions, [b], *columns) == [
        (T0, None, date(2026, 11, 9), True, 3, "timeout", "pending", [{"sku": "A"}])
    ]
    assert await _read(sessions, [a, b, c], "tracking_code", "destination_city", "updated_at") == [
        (f"FK{i}", "Recife", T0) for i in range(3)
    ]


async def test_update_rows_with_one_column_to_set(sessions: Sessions) -> None:
    a, b = await _shipments(sessions, 2)
    async with sessions() as session, session.begin():
        await update_rows(session, shipments_table, [{"_id": b, "poll_error": "já entregue"}])
    assert await _read(sessions, [a, b], "poll_error") == [("timeout",), ("já entregue",)]


async def test_no_rows_write_nothing(sessions: Sessions) -> None:
    (a,) = await _shipments(sessions, 1)
    async with sessions() as session, session.begin():
        await update_rows(session, shipments_table, [])
        await insert_rows(session, events_table, [], EVENT_KEY)
    assert await _read(sessions, [a], "poll_error") == [("timeout",)]
    assert await _events(sessions) == []


def _event(shipment_id: int, hours: int, code: str, **changes: Any) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "occurred_at": (T0 + timedelta(hours=hours)).astimezone(SAO_PAULO),
        "code": code,
        "status": "in_transit",
        "reason": None,
        "description": f"Objeto em trânsito ({code})",
        "location": None,
        "known_code": True,
        "voided": False,
        "raw": {
            "codigo": code,
            "descricao": "Objeto em trânsito - por favor aguarde",
            "unidade": {"nome": "CDD São José", "endereco": {"uf": "SP", "cep": "12200000"}},
            "n": [1, 2.5, None, True, "ç"],
        },
        "recorded_at": T0,
    } | changes


async def _events(sessions: Sessions) -> list[tuple[Any, ...]]:
    c = events_table.c
    async with sessions() as session:
        stmt = select(c.shipment_id, c.occurred_at, c.code, c.description, c.raw).order_by(c.shipment_id, c.id)
        return [tuple(r) for r in await session.execute(stmt)]


async def test_insert_rows_stores_events_with_their_raw_json(sessions: Sessions) -> None:
    a, b = await _shipments(sessions, 2)
    rows = [_event(a, 1, "PO-01"), _event(a, 5, "RO-01"), _event(b, 2, "PO-01", raw={"vazio": {}, "lista": []})]
    async with sessions() as session, session.begin():
        await insert_rows(session, events_table, rows, EVENT_KEY)
    got = await _events(sessions)
    assert got == [(r["shipment_id"], r["occurred_at"], r["code"], r["description"], r["raw"]) for r in rows]
    assert [at.tzinfo for _, at, *_ in got] == [UTC] * 3


async def test_insert_rows_stores_what_orjson_refuses_an_integer_beyond_64_bits_in_a_raw_event(
    sessions: Sessions,
) -> None:
    (a,) = await _shipments(sessions, 1)
    raw = {"codigo": "PO-01", "protocolo": 2**70, "valor": 1.5}
    async with sessions() as session, session.begin():
        await insert_rows(session, events_table, [_event(a, 1, "PO-01", raw=raw)], EVENT_KEY)
    [(_, _, _, _, stored)] = await _events(sessions)
    assert stored == raw


async def test_insert_rows_skips_stored_keys_and_duplicates_in_the_same_call(sessions: Sessions) -> None:
    a, b = await _shipments(sessions, 2)
    async with sessions() as session, session.begin():
        await insert_rows(session, events_table, [_event(a, 1, "PO-01")], EVENT_KEY)
    again = [
        _event(a, 1, "PO-01", description="stored already"),
        _event(a, 5, "RO-01"),
        _event(a, 5, "RO-01", description="twice in this call"),
        _event(b, 1, "PO-01"),  # the same time and code as a stored one, another shipment's
    ]
    async with sessions() as session, session.begin():
        await insert_rows(session, events_table, again, EVENT_KEY)
    assert [(s, code, d) for s, _, code, d, _ in await _events(sessions)] == [
        (a, "PO-01", "Objeto em trânsito (PO-01)"),
        (a, "RO-01", "Objeto em trânsito (RO-01)"),
        (b, "PO-01", "Objeto em trânsito (PO-01)"),
    ]


async def test_insert_rows_of_a_single_column_keyed_by_it(sessions: Sessions) -> None:
    table = Table("bulk_single", MetaData(), Column("code", String(8), unique=True), Column("n", Integer))
    async with sessions() as session:
        await session.run_sync(lambda s: table.create(s.connection()))
        await session.commit()
    try:
        async with sessions() as session, session.begin():
            await insert_rows(session, table, [{"code": "PO-01"}, {"code": "RO-01"}], ["code"])
            await insert_rows(session, table, [{"code": "RO-01"}, {"code": "BDE"}, {"code": "BDE"}], ["code"])
            stored = (await session.scalars(select(table.c.code).order_by(table.c.code))).all()
            assert stored == ["BDE", "PO-01", "RO-01"]
            assert await session.scalar(select(func.count()).where(table.c.n.is_not(None))) == 0
    finally:
        async with sessions() as session:
            await session.run_sync(lambda s: table.drop(s.connection()))
            await session.commit()
