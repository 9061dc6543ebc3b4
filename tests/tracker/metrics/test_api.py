"""``GET /v1/scorecards``: the figures of a known world, grouped, with their trend; CSV; every parameter checked."""

import csv
import io
from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.tracker.metrics.conftest import World, at
from tracker.metrics.rollup import roll_changed

Headers = dict[str, dict[str, str]]
WEEK = {"from": "2026-11-02", "to": "2026-11-08"}


async def test_a_carriers_scorecard_has_every_figure(rolled: World, http: httpx.AsyncClient, keys: Headers) -> None:
    answer = await http.get("/v1/scorecards", params=WEEK, headers=keys["reader"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["period"] == WEEK and body["previous_period"] == {"from": "2026-10-26", "to": "2026-11-01"}
    [row] = body["rows"]
    assert row["group"] == {"carrier": "correios"}
    assert {k: row[k] for k in ("shipments", "delivered", "incidents_per_100", "incidents_per_100_by_kind")} == {
        "shipments": 4,
        "delivered": 3,
        "incidents_per_100": 75.0,
        "incidents_per_100_by_kind": {"delayed": 25.0, "failed_attempt": 25.0, "stalled": 25.0},
    }
    assert (row["on_time_promise_pct"], row["on_time_deadline_pct"], row["first_attempt_pct"]) == (33.3, 50.0, 66.7)
    assert row["late"] == {"1": 1, "2-3": 0, "4-7": 0, "8+": 1}
    assert (row["transit_p50_days"], row["transit_p90_days"]) == (4, 7)
    assert (row["tmr_mean_hours"], row["tmr_p90_hours"]) == (13.1, 24)
    assert row["tmr_by_kind"] == {
        "failed_attempt": {"mean_hours": 24.0, "p90_hours": 24},
        "stalled": {"mean_hours": 2.2, "p90_hours": 3},
    }
    claims = ("claims_filed", "claims_approved", "claims_denied", "claims_paid", "claims_approval_pct")
    assert [row[k] for k in claims] == [2, 1, 1, 1, 50.0]
    assert (row["amount_claimed"], row["amount_recovered"], row["notifications_sent"]) == ("70.00", "30.00", 1)
    assert (row["satisfaction"], row["rated"]) == (3.5, 2)
    assert row["previous_shipments"] == 0 and set(row["trend"].values()) == {None}  # nothing the week before


async def test_groups_filters_and_the_trend(rolled: World, http: httpx.AsyncClient, keys: Headers) -> None:
    routes = (await http.get("/v1/scorecards", params=WEEK | {"group_by": "route"}, headers=keys["reader"])).json()
    assert [(r["group"], r["shipments"]) for r in routes["rows"]] == [
        ({"origin_state": "SP", "destination_state": "RJ"}, 2),
        ({"origin_state": "MG", "destination_state": "RJ"}, 1),
        ({"origin_state": "SP", "destination_state": "SP"}, 1),
    ]
    by = {"group_by": "carrier,category", "destination_state": "sp", "carrier": "Correios"}
    [moda] = (await http.get("/v1/scorecards", params=WEEK | by, headers=keys["reader"])).json()["rows"]
    assert moda["group"] == {"carrier": "correios", "category": "moda"} and moda["shipments"] == 1
    weeks = (await http.get("/v1/scorecards", params=WEEK | {"group_by": "week"}, headers=keys["reader"])).json()
    assert [(r["group"], r["shipments"]) for r in weeks["rows"]] == [({"week": "2026-11-02"}, 4)]
    await rolled.shipment(at(28, 12, month=10), promised_delivery_date=date(2026, 11, 1))  # the week before
    async with rolled.sessions() as session, session.begin():
        await roll_changed(session, rolled.clock.now())
    two = {"from": "2026-10-26", "to": "2026-11-08", "group_by": "week"}
    weeks = (await http.get("/v1/scorecards", params=two, headers=keys["reader"])).json()
    assert [(r["group"]["week"], r["previous_shipments"], r["trend"]["incidents_per_100"]) for r in weeks["rows"]] == [
        ("2026-11-02", 1, 75.0),  # against the week before it, which had none
        ("2026-10-26", 0, None),
    ]
    one_day = {"from": "2026-11-03", "to": "2026-11-03"}  # against 11-02: a, b and c
    [row] = (await http.get("/v1/scorecards", params=one_day, headers=keys["reader"])).json()["rows"]
    assert row["previous_shipments"] == 3
    assert row["trend"] == {
        "incidents_per_100": 33.33,  # 100 against 66.67
        "on_time_promise_pct": -50.0,
        "on_time_deadline_pct": None,  # d has no carrier deadline
        "first_attempt_pct": 50.0,
        "transit_p50_days": 5.0,  # 7 against 2
        "satisfaction": None,  # d was not rated
    }


async def test_csv_is_the_same_table_with_formulas_defused(
    rolled: World, http: httpx.AsyncClient, keys: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await rolled.shipment(at(4, 12), category='=HYPERLINK("http://x")', destination_state="SP")
    async with sessions() as session, session.begin():
        await roll_changed(session, rolled.clock.now())
    params = WEEK | {"group_by": "category"}
    answer = await http.get("/v1/scorecards", params=params, headers=keys["reader"] | {"Accept": "text/csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="scorecard-2026-11-02-2026-11-08.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["category"], r["shipments"], r["on_time_promise_pct"]) for r in rows] == [
        ("", "3", "50.0"),
        ('\'=HYPERLINK("http://x")', "1", ""),
        ("moda", "1", "0.0"),
    ]
    assert rows[0]["incidents_per_100_delayed"] == "33.33" and rows[2]["incidents_per_100_stalled"] == "100.0"
    same = await http.get("/v1/scorecards", params=params | {"format": "csv"}, headers=keys["reader"])
    assert same.text == answer.text
    json_rows = (await http.get("/v1/scorecards", params=params, headers=keys["reader"])).json()["rows"]
    assert [r["shipments"] for r in json_rows] == [int(r["shipments"]) for r in rows]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"from": "2026-13-01"}, "from", "is not a date: expected YYYY-MM-DD"),
        ({"from": "2026-11-09", "to": "2026-11-02"}, "from", "is after to (2026-11-02)"),
        ({"from": "2020-01-01", "to": "2026-11-02"}, "to", "at most 731"),
        ({"group_by": "carrier,planet"}, "group_by", "expected up to 3 of carrier, service, route"),
        ({"carrier": "dhl"}, "carrier", "'dhl' is not a carrier: expected one of"),
        ({"destination_state": "XX"}, "destination_state", "'XX' is not a Brazilian UF"),
        ({"origin_state": "S"}, "origin_state", "is not a Brazilian UF"),
        ({"format": "xml"}, "format", "pattern"),
        ({"categoria": "moda"}, "categoria", "unknown query parameter"),
    ],
)
async def test_every_parameter_is_checked(
    http: httpx.AsyncClient, keys: Headers, query: dict[str, str], field: str, words: str
) -> None:
    answer = await http.get("/v1/scorecards", params=query, headers=keys["reader"])
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [e["field"] for e in errors] == [field] and words in errors[0]["message"], errors


async def test_a_key_is_needed(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/scorecards", params={"from": "x"})).status_code == 401


def test_today_is_the_default_end() -> None:
    from tracker.metrics.params import query

    q = query(None, None, today=date(2026, 11, 30))
    assert (q.first, q.last, q.group_by) == (date(2026, 11, 1), date(2026, 11, 30), ("carrier",))
