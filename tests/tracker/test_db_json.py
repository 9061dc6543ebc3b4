"""JSON columns: what the stdlib's ``json.dumps`` stored, the engine's serializer stores, read back the same."""

import json
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tracker.db import json_text

VALUES: list[Any] = [
    {"codigo": "BDE", "tipo": "01", "descricao": "Objeto entregue ao destinatário", "unidade": {"uf": "SP"}},
    {"n": [1, 2.5, -0.0, None, True], "big": 2**70, "neg": -(2**65)},  # beyond 64 bits: through json.dumps
    {1: "int key", "ñ": "✓"},
    [],
    "só texto",
]


@pytest.mark.parametrize("value", VALUES)
def test_json_text_reads_back_as_json_dumps_does(value: Any) -> None:
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


async def test_a_json_column_round_trips_through_the_engine(engine: AsyncEngine) -> None:
    table = Table("json_round_trip", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON))
    async with engine.begin() as conn:
        await conn.run_sync(table.create)
        try:
            await conn.execute(table.insert(), [{"id": i, "doc": v} for i, v in enumerate(VALUES)])
            docs = (await conn.execute(select(table.c.doc).order_by(table.c.id))).scalars().all()
        finally:
            await conn.run_sync(table.drop)
    assert docs == [json.loads(json.dumps(v)) for v in VALUES]
