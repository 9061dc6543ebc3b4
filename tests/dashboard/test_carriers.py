"""Transportadoras (``/dashboard/carriers``) over HTTP on both databases: only for a signed-in person (any role),
the seeded rollups' figures side by side with their trend, the charts' data as JSON, the heat map, the CSV the
scorecard API gives for the same period, each bad parameter named, an empty period said plainly, untrusted text
escaped; and the vendored chart library is the pinned file."""

import csv
import hashlib
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import date
from html import unescape
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dashboard.carrier_views import heat_step, legend, number, weeks
from tests.dashboard.seed import PASSWORD, rollup_rows, seed
from tests.tracker.ingest.conftest import keys, serve  # noqa: F401 (the API key fixture)
from tracker.clock import SimulatedClock

PAGE = "/dashboard/carriers"
VENDOR = Path(__file__).resolve().parents[2] / "dashboard" / "static" / "vendor"


@pytest.fixture
async def http(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> AsyncIterator[httpx.AsyncClient]:
    await seed(sessions, clock.now())
    async with serve(engine, clock) as client:
        yield client


async def sign_in(http: httpx.AsyncClient, email: str = "vera@loja.example") -> None:
    form = await http.get("/dashboard/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    answer = await http.post("/dashboard/login", data={"email": email, "password": PASSWORD, "csrf": csrf[1]})
    assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard")


def cell(html: str, figure: str, carrier: str) -> str:
    row = re.search(rf'<tr data-figure="{figure}">(.*?)</tr>', html, re.S)
    assert row is not None, figure
    found = re.search(rf'<td data-carrier="{carrier}">(.*?)</td>', row[1], re.S)
    assert found is not None, (figure, carrier)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found[1])).split())


def heat(html: str, carrier: str, state: str) -> tuple[str, str, str]:
    row = re.search(rf"<tr><th scope=\"row\">{carrier}</th>(.*?)</tr>", html, re.S)
    assert row is not None, carrier
    found = re.search(rf'<td class="([^"]+)" title="([^"]*)" data-state="{state}">([^<]*)</td>', row[1])
    assert found is not None, (carrier, state)
    return found[1], unescape(found[2]), found[3]


async def test_the_page_and_its_csv_need_a_session(http: httpx.AsyncClient) -> None:
    for path in (PAGE, f"{PAGE}.csv", f"{PAGE}?from=nonsense"):
        answer = await http.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/dashboard/login"), path


@pytest.mark.parametrize("email", ["vera@loja.example", "ana@loja.example"])  # viewer, ops
async def test_every_role_reads_the_carriers_side_by_side_with_their_trend(http: httpx.AsyncClient, email: str) -> None:
    await sign_in(http, email)
    answer = await http.get(PAGE)  # the last 30 days: 2026-10-04 to 2026-11-02
    assert answer.status_code == 200
    html = answer.text
    assert "De 04/10/2026 a 02/11/2026, comparado com 04/09/2026 a 03/10/2026" in html
    assert re.findall(r'<th scope="col" data-carrier="(\w+)">', html) == ["correios", "jadlog"]  # most shipments first
    assert cell(html, "shipments", "correios") == "124"
    assert cell(html, "on_time_promise_pct", "correios") == "90,0% ▲ 10,0 pp"  # 80,0% the 30 days before
    assert cell(html, "incidents_per_100", "correios") == "4,84 ▼ 5,16"  # 10,00 before: better
    assert 'class="trend better"' in html
    assert (cell(html, "shipments", "jadlog"), cell(html, "on_time_promise_pct", "jadlog")) == ("45", "77,3%")
    assert cell(html, "amount_recovered", "jadlog") == "R$ 0,00"
    assert '<a href="/dashboard/carriers" aria-current="page">Transportadoras</a>' in html


async def test_the_charts_data_and_the_heat_map(http: httpx.AsyncClient) -> None:
    await sign_in(http)
    html = (await http.get(PAGE)).text
    found = re.search(r'<script type="application/json" id="carrier-trends">(.*?)</script>', html, re.S)
    assert found is not None
    charts = json.loads(found[1])
    assert charts["weeks"] == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26", "2026-11-02"]
    assert charts["labels"][1] == "05/10"
    correios, jadlog = charts["series"]
    assert (correios["name"], jadlog["name"]) == ("Correios", "Jadlog")
    assert correios["incidents_per_100"] == [None, 5.0, 10.0, 2.0, 0.0, None]  # 2 of 40, 3 of 30, 1 of 50, 0 of 4
    assert correios["on_time_pct"] == [None, 89.5, 80.0, 95.8, 100.0, None]
    assert jadlog["on_time_pct"] == [None, 60.0, None, 91.7, None, None]
    assert charts["titles"]["on_time"] == "No prazo prometido ao cliente (%)"
    assert heat(html, "Correios", "RJ") == ("heat-5", "85,3% no prazo de 68 avaliados", "85,3%")  # 58 of 68
    assert heat(html, "Jadlog", "RJ") == ("heat-0", "60,0% no prazo de 20 avaliados", "60,0%")
    assert heat(html, "Correios", "MG") == (
        "heat-few",
        "4 avaliado(s) de 4 envio(s): poucos para medir (mínimo 10)",
        "",
    )
    assert heat(html, "Jadlog", "MG") == ("heat-none", "nenhum envio", "")
    assert re.findall(r'<th scope="col">(\w\w)</th>', html) == ["MG", "RJ", "SP"]
    for script in re.findall(r"<script[^>]*>", html):  # no inline script: the CSP allows same-origin files only
        assert 'src="/dashboard/static/' in script or 'type="application/json"' in script, script


async def test_filters_narrow_every_part_of_the_page(http: httpx.AsyncClient) -> None:
    await sign_in(http)
    html = (await http.get(PAGE, params={"destination_state": "sp", "service": "", "category": "moda"})).text
    assert (cell(html, "shipments", "correios"), cell(html, "shipments", "jadlog")) == ("50", "25")
    assert re.findall(r'<th scope="col">(\w\w)</th>', html) == ["SP"]
    assert "<option selected>SP</option>" in html
    assert "carriers.csv?from=2026-10-04&amp;to=2026-11-02&amp;destination_state=SP&amp;category=moda" in html


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "ontem"}, "to"),
        ({"from": "2026-11-02", "to": "2026-10-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),  # longer than two years
        ({"origin_state": "XX"}, "origin_state"),
        ({"destination_state": "Z"}, "destination_state"),
        ({"category": "moda\x07"}, "category"),
        ({"service": "S" * 51}, "service"),  # longer than the query allows
    ],
)
async def test_a_bad_parameter_is_a_422_naming_it(http: httpx.AsyncClient, params: dict[str, str], field: str) -> None:
    await sign_in(http)
    for path in (PAGE, f"{PAGE}.csv"):
        answer = await http.get(path, params=params)
        assert answer.status_code == 422, (path, answer.text[:300])
        named = (f"<code>{field}</code>", f"({field}):", f"confira: {field}")  # the page, the CSV's, FastAPI's
        assert any(n in answer.text for n in named) and "<html" in answer.text, answer.text[:600]
        assert "text/html" in answer.headers["content-type"]


async def test_the_csv_is_the_scorecard_apis_table_for_the_same_period(
    http: httpx.AsyncClient,
    keys: dict[str, dict[str, str]],  # noqa: F811
) -> None:
    await sign_in(http)
    period = {"from": "2026-10-04", "to": "2026-11-02", "destination_state": "RJ"}
    answer = await http.get(f"{PAGE}.csv", params=period)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="transportadoras-2026-10-04-2026-11-02.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["carrier"], r["shipments"], r["on_time_promise_pct"], r["incidents_per_100"]) for r in rows] == [
        ("correios", "70", "85.3", "7.14"),
        ("jadlog", "20", "60.0", "20.0"),
    ]
    api = await http.get("/v1/scorecards", params=period | {"format": "csv"}, headers=keys["reader"])
    assert answer.content == api.content  # the same export: its formula defusing too


async def test_an_empty_period_says_so(http: httpx.AsyncClient) -> None:
    await sign_in(http)
    answer = await http.get(PAGE, params={"from": "2025-01-01", "to": "2025-01-31"})
    assert answer.status_code == 200
    assert "Nenhum envio de 01/01/2025 a 31/01/2025. Escolha outro período ou tire filtros." in answer.text
    assert "<canvas" not in answer.text and "<script" not in answer.text and "Baixar CSV" not in answer.text


async def test_untrusted_text_is_escaped(http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    evil = '<script>alert("x")</script>'
    async with sessions() as session, session.begin():
        session.add_all(rollup_rows((("2026-10-30", "<img src=x>", "RJ", 12, 12, 12, 0),), category=evil))
    await sign_in(http)
    html = (await http.get(PAGE, params={"category": evil})).text
    assert "<script>alert" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # the filter, shown as typed
    assert '<th scope="col" data-carrier="&lt;img src=x&gt;">&lt;img src=x&gt;</th>' in html
    assert "\\u003cimg src=x\\u003e" in html  # in the charts' JSON (tojson)


async def test_the_vendored_chart_library_is_the_pinned_file(http: httpx.AsyncClient) -> None:
    manifest = (VENDOR / "README.md").read_text(encoding="utf-8")
    pinned = re.search(r"\| `chart.umd.min.js` \| Chart.js \| (\S+) \|.*\| `([0-9a-f]{64})` \|", manifest)
    assert pinned is not None
    body = (VENDOR / "chart.umd.min.js").read_bytes()
    assert hashlib.sha256(body).hexdigest() == pinned[2]
    assert body.startswith(f"/*!\n * Chart.js v{pinned[1]}\n".encode())
    assert "MIT License" in (VENDOR / "chart.js.LICENSE.md").read_text(encoding="utf-8")
    served = await http.get("/dashboard/static/vendor/chart.umd.min.js")
    assert (served.status_code, served.headers["content-type"]) == (200, "text/javascript; charset=utf-8")
    assert served.content == body
    assert (await http.get("/dashboard/static/vendor/chart.js.LICENSE.md")).status_code == 404  # not a served type
    assert (await http.get("/dashboard/static/../web.py")).status_code == 404


def test_numbers_weeks_and_heat_steps() -> None:
    assert (number(1234.5), number(4.8387, 2), number(124, 0)) == ("1.234,5", "4,84", "124")
    assert weeks(date(2026, 10, 4), date(2026, 10, 12)) == [date(2026, 9, 28), date(2026, 10, 5), date(2026, 10, 12)]
    assert [heat_step(p) for p in (0.0, 70.0, 71.4, 71.6, 85.0, 98.4, 100.0)] == [0, 0, 0, 1, 5, 9, 10]
    assert legend()[0] == ("heat-0", "≤ 70%") and legend()[-1] == ("heat-10", "100%")
