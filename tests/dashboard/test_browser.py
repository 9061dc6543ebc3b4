"""The dashboard in the system Chromium (never a Playwright download), against ``zelo``'s app served by uvicorn
on 127.0.0.1: log in (and fail, and get locked out), find a shipment and read its timeline, triage and resolve
an incident, send a wa.me message and mark it sent, mark a claim as filed, read the carriers' scorecards (their
charts and heat map drawn, their CSV downloaded), on a laptop and a phone. A screenshot of
every page goes to ``artifacts/screenshots/`` (kept out of git)."""

import asyncio
import csv
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright, expect
from sqlalchemy import select

from claims import Claim
from dashboard.users import MAX_FAILURES
from notifier import Notification
from tests.dashboard.seed import PASSWORD, WA_LINK, Seeded, seed
from tests.support import running
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.db import make_engine, make_sessionmaker
from tracker.detector import Incident
from tracker.migrate import upgrade
from zelo.app import create_app

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a Monday, 11:00 in Brasília
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class Site:
    base: str
    ids: Seeded
    url: str  # the database's


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite+aiosqlite:///{folder / 'zelo.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    ids = await seed(make_sessionmaker(engine), NOW)
    await engine.dispose()
    settings = Settings(database_url=url, uploads_dir=str(folder / "uploads"), log_level="warning")
    app = create_app(settings, SimulatedClock(NOW))
    with running(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error")) as port:
        yield Site(f"http://127.0.0.1:{port}", ids, url)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="pt-BR")
    yield made
    await made.close()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def log_in(context: BrowserContext, site: Site, email: str = "ana@loja.example") -> Page:
    page = await context.new_page()
    await page.goto(f"{site.base}/dashboard")
    await expect(page).to_have_url(f"{site.base}/dashboard/login")  # no session: the login page
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Senha").fill(PASSWORD)
    await page.get_by_role("button", name="Entrar").click()
    await expect(page).to_have_url(f"{site.base}/dashboard")
    return page


async def scalar(site: Site, query: object) -> object:
    engine = make_engine(site.url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await session.scalar(query)  # type: ignore[call-overload]
    finally:
        await engine.dispose()


async def test_a_wrong_password_is_refused_and_five_lock_the_account(context: BrowserContext, site: Site) -> None:
    page = await context.new_page()
    await page.goto(f"{site.base}/dashboard/login")
    await shot(page, "login")
    for attempt in range(MAX_FAILURES):
        await page.get_by_label("E-mail").fill("lia@loja.example")
        await page.get_by_label("Senha").fill("not the password")
        await page.get_by_role("button", name="Entrar").click()
        if attempt < MAX_FAILURES - 1:
            await expect(page.get_by_role("alert")).to_have_text("E-mail ou senha incorretos.")
    await expect(page.get_by_role("alert")).to_contain_text("Conta bloqueada após 5 tentativas erradas")
    await expect(page.get_by_role("alert")).to_contain_text("02/11/2026 11:15")  # 15 minutes, Brasília time
    await shot(page, "login-locked")
    await page.get_by_label("E-mail").fill("lia@loja.example")
    await page.get_by_label("Senha").fill(PASSWORD)  # the right one, while locked
    await page.get_by_role("button", name="Entrar").click()
    await expect(page.get_by_role("alert")).to_contain_text("Conta bloqueada")
    assert not [c for c in await context.cookies() if c["name"] == "zelo_session"]


async def test_the_session_cookie_is_httponly_and_lax_and_logging_out_ends_it(
    context: BrowserContext, site: Site
) -> None:
    page = await log_in(context, site)
    cookie = next(c for c in await context.cookies() if c["name"] == "zelo_session")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)  # development: http
    await page.get_by_role("button", name="Sair").click()
    await expect(page).to_have_url(f"{site.base}/dashboard/login")
    await page.goto(f"{site.base}/dashboard/shipments")
    await expect(page).to_have_url(f"{site.base}/dashboard/login")


async def test_a_form_without_its_csrf_token_is_refused(context: BrowserContext, site: Site) -> None:
    page = await log_in(context, site)
    url = f"{site.base}/dashboard/incidents/{site.ids.delayed}"
    response = await page.request.post(url, form={"action": "triage", "csrf": "forged"}, max_redirects=0)
    assert response.status == 403
    assert "CSRF" in await response.text()
    assert await scalar(site, select(Incident.status).where(Incident.id == site.ids.delayed)) == "open"


async def test_find_a_shipment_and_read_its_timeline(context: BrowserContext, site: Site) -> None:
    page = await log_in(context, site)
    await page.get_by_role("link", name="Envios").click()
    for term in ("PED-1001", "ab123456789br", "erp-1001", "joana@example.com"):
        await page.get_by_label("Buscar").fill(term)
        await page.get_by_role("button", name="Buscar").click()
        await expect(page.locator("table.list tbody tr")).to_have_count(1)
    await shot(page, "shipments")
    await page.get_by_role("link", name="AB123456789BR").click()
    await expect(page).to_have_url(f"{site.base}/dashboard/shipments/{site.ids.shipment}")
    timeline = page.locator("ol.timeline")
    for text in (
        "Objeto postado",
        "Objeto em trânsito",
        "Ocorrência: extravio",
        "Mensagem (WhatsApp, envio manual): extravio",
        "Resposta do cliente: não recebi",
        "Reclamação pi: pronta para abrir",
    ):
        await expect(timeline).to_contain_text(text)
    assert await timeline.locator("li").first.locator("strong").inner_text() == "Resposta do cliente: não recebi"
    await expect(page.locator(".facts")).to_contain_text("Joana <b>Silva</b>")  # escaped, shown as typed
    assert await page.locator(".facts b").count() == 0
    await shot(page, "shipment-timeline")


async def test_triage_assign_and_resolve_an_incident(context: BrowserContext, site: Site) -> None:
    page = await log_in(context, site)
    card = page.locator(f"#incident-{site.ids.delayed}")
    await expect(card).to_contain_text("atrasado há 1 h 0 min")
    await expect(page.locator("h3").first).to_have_text("crítica")  # the most severe first
    await shot(page, "alerts")
    await card.get_by_role("button", name="Triar").click()
    await expect(page.get_by_role("status")).to_have_text("Ocorrência atualizada.")
    await expect(card).to_contain_text("triada")
    await card.get_by_label("Atribuir a").fill("Bruno")
    await card.get_by_role("button", name="Atribuir").click()
    await expect(card.locator(".owner")).to_have_text("Bruno")
    await card.get_by_text("Resolver", exact=True).first.click()
    await card.get_by_label("Desfecho").select_option("resent")
    await card.get_by_label("Causa").select_option("carrier_delay")
    await card.get_by_label("Nota").fill("Reenviado pelo estoque")
    await card.get_by_role("button", name="Resolver").click()
    await expect(page.get_by_role("status")).to_have_text("Ocorrência atualizada.")
    await expect(card).to_have_count(0)  # resolved: off the queue
    incident = await scalar(site, select(Incident).where(Incident.id == site.ids.delayed))
    assert isinstance(incident, Incident)
    assert (incident.status, incident.outcome, incident.root_cause, incident.owner) == (
        "resolved",
        "resent",
        "carrier_delay",
        "Bruno",
    )
    assert incident.resolved_by == "ana@loja.example" and incident.resolution_note == "Reenviado pelo estoque"


async def test_follow_a_click_to_send_link_and_mark_it_sent(context: BrowserContext, site: Site) -> None:
    opened: list[str] = []

    async def wa_me(route: Route) -> None:  # never the network: the page WhatsApp would show
        opened.append(route.request.url)
        await route.fulfill(body="<h1>WhatsApp</h1>", content_type="text/html")

    await context.route(re.compile(r"https://wa\.me/.*"), wa_me)
    page = await log_in(context, site)
    card = page.locator(f"#wa-{site.ids.wa}")
    link = card.get_by_role("link", name="Abrir no WhatsApp")
    assert await link.get_attribute("href") == WA_LINK
    async with context.expect_page() as new:
        await link.click()
    whatsapp = await new.value
    await whatsapp.wait_for_load_state()
    assert whatsapp.url == WA_LINK and opened == [WA_LINK]
    await card.get_by_role("button", name="Marcar como enviada").click()
    await expect(page.get_by_role("status")).to_have_text("Mensagem marcada como enviada.")
    await expect(card).to_have_count(0)
    assert await scalar(site, select(Notification.status).where(Notification.id == site.ids.wa)) == "sent"


async def test_mark_a_claim_as_filed(context: BrowserContext, site: Site) -> None:
    page = await log_in(context, site)
    await page.get_by_role("link", name="Reclamações", exact=True).click()
    card = page.locator(f"#claim-{site.ids.claim}")
    await expect(card).to_contain_text("Prazo: 5 dia(s) útil(eis)")
    await expect(card).to_contain_text("Valor reclamado: R$ 189,90")
    await shot(page, "claims")
    await card.get_by_label("Protocolo").fill("PI-2026-0042")
    await card.get_by_role("button", name="Marcar como aberta").click()
    await expect(page.get_by_role("status")).to_contain_text("aberta na transportadora")
    await expect(card).to_have_count(0)
    await page.get_by_role("link", name="abertas e encerradas").click()
    await expect(card).to_contain_text("Protocolo: PI-2026-0042")
    claim = await scalar(site, select(Claim).where(Claim.id == site.ids.claim))
    assert isinstance(claim, Claim) and (claim.status, claim.protocol) == ("filed", "PI-2026-0042")
    await card.get_by_label("Resposta da transportadora").select_option("partially_approved")
    await card.get_by_label("Valor aprovado").fill("150,00")
    await card.get_by_role("button", name="Registrar resposta").click()
    await expect(page.get_by_role("status")).to_have_text("Resposta da transportadora registrada.")
    await expect(card).to_contain_text("aprovado: R$ 150,00")
    await card.get_by_label("Valor recebido").fill("doze reais")  # not a sum of money
    await card.get_by_role("button", name="Registrar pagamento").click()
    await expect(page.locator("h1")).to_have_text("Valor inválido")
    await page.go_back()
    await card.get_by_label("Valor recebido").fill("150,00")
    await card.get_by_role("button", name="Registrar pagamento").click()
    await expect(page.get_by_role("status")).to_have_text("Pagamento registrado.")
    await expect(card).to_contain_text("recebido: R$ 150,00")
    await expect(card).to_contain_text("paga")
    await shot(page, "claims-filed")
    async with context.expect_page() as opened:
        await card.get_by_role("link", name="Dossiê para a transportadora").click()
    packet = await opened.value
    await expect(packet.locator("body")).to_contain_text("AB123456789BR")
    await shot(packet, "claim-packet")


async def test_a_viewer_reads_but_cannot_act(context: BrowserContext, site: Site) -> None:
    page = await log_in(context, site, "vera@loja.example")
    await expect(page.locator(f"#incident-{site.ids.lost}")).to_be_visible()
    assert await page.get_by_role("button", name="Triar").count() == 0
    csrf = await page.locator("form.logout input[name=csrf]").get_attribute("value")
    url = f"{site.base}/dashboard/incidents/{site.ids.lost}"
    response = await page.request.post(url, form={"action": "triage", "csrf": csrf or ""}, max_redirects=0)
    assert response.status == 403
    assert await scalar(site, select(Incident.status).where(Incident.id == site.ids.lost)) == "open"


async def test_a_phone_sized_screen_reads_without_sideways_scrolling(browser: Browser, site: Site) -> None:
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = await log_in(phone, site)
        for path, name in (("", "alerts"), ("/shipments", "shipments"), ("/claims?view=filed", "claims")):
            await page.goto(f"{site.base}/dashboard{path}")
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{name}: {width} px wide on a 390 px screen"
            await shot(page, f"phone-{name}")
        await page.goto(f"{site.base}/dashboard/shipments/{site.ids.shipment}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await shot(page, "phone-shipment-timeline")
    finally:
        await phone.close()


def watch(page: Page) -> list[str]:
    """What the page complains of: script errors and refusals by the Content-Security-Policy."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    return problems


async def test_read_a_scorecard_and_download_its_csv(context: BrowserContext, site: Site) -> None:
    page = await log_in(context, site, "vera@loja.example")  # a viewer reads it
    problems = watch(page)
    await page.get_by_role("link", name="Transportadoras").click()
    await expect(page).to_have_url(f"{site.base}/dashboard/carriers")
    await expect(page.locator("h1")).to_have_text("Transportadoras")
    table = page.locator("table.scorecards")
    correios = table.locator('tr[data-figure="shipments"] td[data-carrier="correios"]')
    await expect(correios).to_have_text("124")  # tests/dashboard/seed.py's ROLLUPS, the last 30 days
    on_time = table.locator('tr[data-figure="on_time_promise_pct"] td[data-carrier="correios"]')
    await expect(on_time.locator(".value")).to_have_text("90,0%")
    await expect(on_time.locator(".trend")).to_have_text("▲ 10,0 pp")
    await expect(table.locator('tr[data-figure="shipments"] td[data-carrier="jadlog"]')).to_have_text("45")
    await shot(page, "carriers")
    async with page.expect_download() as started:
        await page.get_by_role("link", name="Baixar CSV").click()
    download = await started.value
    assert download.suggested_filename == "transportadoras-2026-10-04-2026-11-02.csv"
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    rows = {r["carrier"]: r for r in csv.DictReader(text.splitlines())}
    assert (rows["correios"]["shipments"], rows["correios"]["on_time_promise_pct"]) == ("124", "90.0")
    assert (rows["jadlog"]["shipments"], rows["jadlog"]["incidents_per_100"]) == ("45", "11.11")
    await page.get_by_role("combobox", name="UF de destino").select_option("SP")
    await page.get_by_role("button", name="Aplicar").click()
    await expect(correios).to_have_text("50")
    assert problems == []


async def test_the_carriers_charts_and_heat_map_are_drawn(context: BrowserContext, site: Site) -> None:
    page = await log_in(context, site)
    problems = watch(page)
    await page.goto(f"{site.base}/dashboard/carriers")
    for chart in ("#chart-incidents", "#chart-on-time"):
        canvas = page.locator(chart)
        await expect(canvas).to_be_visible()
        box = await canvas.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200, (chart, box)
        lines = await canvas.evaluate("c => Chart.getChart(c).data.datasets.map(d => d.label)")
        assert lines == ["Correios", "Jadlog"], chart
    cell = page.locator("table.heat tr", has_text="Correios").locator('td[data-state="RJ"]')
    await expect(cell).to_have_text("85,3%")
    await expect(cell).to_have_class("heat-5")
    few = page.locator("table.heat tr", has_text="Correios").locator('td[data-state="MG"]')
    await expect(few).to_have_attribute("title", re.compile(r"^4 avaliado\(s\) de 4 envio\(s\)"))
    colour = await cell.evaluate("c => getComputedStyle(c).backgroundColor")
    grey = await few.evaluate("c => getComputedStyle(c).backgroundColor")
    assert colour != grey and "0, 0, 0, 0" not in colour
    await expect(page.locator(".legend .swatch")).to_have_count(13)
    assert problems == []  # no script error, nothing refused by the CSP


async def test_the_carriers_page_on_a_phone(browser: Browser, site: Site) -> None:
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = await log_in(phone, site)
        await page.goto(f"{site.base}/dashboard/carriers")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        scroller = page.locator(".scroll").first  # a table wider than the screen scrolls inside its box
        assert await scroller.evaluate("s => getComputedStyle(s).overflowX") == "auto"
        assert await scroller.evaluate("s => s.getBoundingClientRect().right") <= 390
        for chart in ("#chart-incidents", "#chart-on-time"):
            box = await page.locator(chart).bounding_box()
            assert box is not None and 250 < box["width"] <= 390 and box["height"] > 150, (chart, box)
        await shot(page, "phone-carriers")
    finally:
        await phone.close()


async def test_a_request_without_a_session_is_sent_to_log_in_before_its_body_is_read(
    context: BrowserContext, site: Site
) -> None:
    page = await context.new_page()
    url = f"{site.base}/dashboard/claims/{site.ids.claim}/filed"
    response = await page.request.post(url, data=b"x" * 100_000, max_redirects=0)  # unread: no session
    assert (response.status, response.headers["location"]) == (303, "/dashboard/login")


async def test_bad_input_gets_a_page_saying_what_is_wrong(context: BrowserContext, site: Site) -> None:
    page = await log_in(context, site)
    csrf = await page.locator("form.logout input[name=csrf]").get_attribute("value")
    post = f"{site.base}/dashboard/incidents/{site.ids.lost}"
    cases = [
        (page.request.get(f"{site.base}/dashboard/shipments/999999"), 404, "Envio não encontrado"),
        (page.request.get(f"{site.base}/dashboard/shipments/abc"), 422, "shipment_id"),
        (page.request.get(f"{site.base}/dashboard?cursor=nonsense"), 422, "Página inválida"),
        (page.request.get(f"{site.base}/dashboard/shipments?cursor=%00"), 422, "Invalid cursor"),
        (
            page.request.post(post, data=b"x" * 20_000, headers={"content-type": "application/x-www-form-urlencoded"}),
            413,
            "at most 16384 bytes",
        ),
        (page.request.post(post, multipart={"csrf": csrf or "", "action": "triage"}), 415, "Formulário esperado"),
        (page.request.post(post, form={"csrf": csrf or "", "action": "explode"}), 422, "Ação desconhecida"),
        (page.request.post(post, form={"csrf": csrf or "", "action": "resolve", "outcome": "bogus"}), 422, "outcome"),
    ]
    for call, status, said in cases:
        response = await call
        body = await response.text()
        assert response.status == status, (status, body[:300])
        assert said in body and "<html" in body, body[:300]
    assert await scalar(site, select(Incident.status).where(Incident.id == site.ids.lost)) == "open"
