"""The ``correios_portal`` filer in the real system Chromium against the local Fale Conosco replica.

Never skipped: without Chromium these tests fail (``make test`` installs it through ``make chromium``).
One browser for the module; each test files through it (the first through the filer's own launch).
"""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser

from carriers.base import AccountConfig, ClaimRequest, Manifestation, Outcome
from carriers.correios import SPEC
from carriers.correios.portal import PortalFiler, chromium_path, system_chromium
from tests.carriers.correios.portal_replica import Replica
from tests.support import RecordingSleep, running

pytestmark = pytest.mark.browser
CODE, OTHER = "AB123456785BR", "AB000000019BR"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Replica, str]]:
    replica = Replica()
    config = uvicorn.Config(replica.app(), host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    with running(config) as port:
        yield replica, f"http://127.0.0.1:{port}/faleconosco"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    assert os.access(path, os.X_OK), f"no Chromium at {path}: `make chromium` installs it; this test never skips"
    async with system_chromium() as shared:
        yield shared


@pytest.fixture
def replica(site: tuple[Replica, str]) -> Replica:
    site[0].reset()
    return site[0]


def account(url: str, **credentials: str) -> AccountConfig:
    base = {"user": "u", "access_code": "c", "posting_card": "1", "portal_url": url}
    base |= {"portal_user": Replica.user, "portal_password": Replica.password}
    return AccountConfig(1, "correios", "main", "https://apihom.correios.com.br", base | credentials)


def filer(site: tuple[Replica, str], browser: Browser, **kwargs: float) -> PortalFiler:
    @asynccontextmanager
    async def shared() -> AsyncIterator[Browser]:
        yield browser

    return PortalFiler(account(site[1]), launch=shared, **kwargs)


def claim(claim_id: int = 1, code: str = CODE, **changes: object) -> ClaimRequest:
    values: dict[str, object] = {
        "claim_id": claim_id,
        "tracking_code": code,
        "motivo": 135,
        "manifestation": Manifestation.COMPLAINT,
        "packaging": "C",
        "addressee_name": "Maria Silva",
        "reply_email": "sac@loja.example.com",
        "note": f"delayed {code}: PAC 6 dias de atraso, 10% da postagem",
    }
    return ClaimRequest(**(values | changes))  # type: ignore[arg-type]


async def test_claims_are_filed_on_the_form_and_their_protocols_read_back(
    site: tuple[Replica, str], replica: Replica
) -> None:
    async with httpx.AsyncClient() as http:  # through the Correios spec and the filer's own system Chromium
        portal = SPEC.filer("correios_portal")(account(site[1]), http, lambda: datetime.now(UTC), RecordingSleep())
        got = await portal.file([claim(1), claim(2, OTHER, motivo=211, packaging="E")])

    assert [(f.claim_id, f.outcome) for f in got] == [(1, Outcome.FILED), (2, Outcome.FILED)]
    assert [f.protocol for f in got] == [replica.filed[(CODE, "R")], replica.filed[(OTHER, "R")]]
    assert replica.logins == 1  # one session for the batch
    first, second = replica.submissions
    assert first == {
        "tipo": "R",
        "motivo": "135",
        "objeto": CODE,
        "destinatario": "Maria Silva",
        "embalagem": "C",
        "descricao": f"delayed {CODE}: PAC 6 dias de atraso, 10% da postagem",
        "email": "sac@loja.example.com",
    }
    assert (second["motivo"], second["embalagem"]) == ("211", "E")


async def test_a_validation_error_is_refused_with_the_pages_message_and_no_customer_data(
    site: tuple[Replica, str], browser: Browser, replica: Replica
) -> None:
    [got] = await filer(site, browser).file([claim(addressee_name="", reply_email="sac@loja.invalid")])

    assert got.outcome is Outcome.REFUSED
    assert got.reason == "Informe o nome do destinatário. E-mail de resposta não aceito: ***@*** (domínio inexistente)."
    assert replica.filed == {}


async def test_a_session_that_expires_on_submitting_falls_back_to_a_person(
    site: tuple[Replica, str], browser: Browser, replica: Replica
) -> None:
    replica.expire_on_submit = True

    [got] = await filer(site, browser).file([claim()])

    assert (got.outcome, got.reason) == (
        Outcome.FALL_BACK,
        "the portal session expired mid-filing; nothing is known to be filed",
    )
    assert len(replica.submissions) == 1
    assert replica.filed == {}


async def test_a_captcha_falls_back_to_a_person_before_anything_is_submitted(
    site: tuple[Replica, str], browser: Browser, replica: Replica
) -> None:
    replica.captcha = True

    [got] = await filer(site, browser).file([claim()])

    assert got.outcome is Outcome.FALL_BACK
    assert got.reason.startswith("the portal asks for a captcha on http://127.0.0.1:")
    assert replica.submissions == []


async def test_filing_again_is_already_filed_with_the_protocol_the_page_shows(
    site: tuple[Replica, str], browser: Browser, replica: Replica
) -> None:
    portal = filer(site, browser)
    [first] = await portal.file([claim(1)])
    [again] = await portal.file([claim(1)])
    replica.duplicate_shows_protocol = False
    [blind] = await portal.file([claim(1)])

    assert first.outcome is Outcome.FILED
    assert (again.outcome, again.protocol) == (Outcome.ALREADY_FILED, first.protocol)
    assert blind.outcome is Outcome.FALL_BACK
    assert blind.reason.startswith("the portal holds a manifestação for this object but shows no protocol")
    assert list(replica.filed.values()) == [first.protocol]  # one manifestação at the carrier, ever


async def test_a_timeout_is_retried_and_the_retry_finds_the_claim_filed(
    site: tuple[Replica, str], browser: Browser, replica: Replica
) -> None:
    replica.slow_confirmation_s = 5.0
    [timed_out] = await filer(site, browser, timeout_s=2.0).file([claim(1)])
    filed_meanwhile = dict(replica.filed)  # the portal registered it; its confirmation page never came
    replica.slow_confirmation_s = 0.0
    [retried] = await filer(site, browser).file([claim(1)])

    assert timed_out.outcome is Outcome.RETRY
    assert timed_out.reason.startswith("browser fault, file again later: TimeoutError: ")
    assert list(filed_meanwhile) == [(CODE, "R")]
    assert (retried.outcome, retried.protocol) == (Outcome.ALREADY_FILED, replica.filed[(CODE, "R")])


async def test_what_the_portal_cannot_take_falls_back_with_the_reason(
    site: tuple[Replica, str], browser: Browser, replica: Replica
) -> None:
    portal = filer(site, browser)
    unknown, not_offered = await portal.file([claim(1, motivo=999), claim(2, motivo=148)])
    portal.password = "wrong"
    [login] = await portal.file([claim(3)])

    assert (unknown.outcome, unknown.reason) == (Outcome.FALL_BACK, "motivo 999 has no Fale Conosco choice")
    assert (not_offered.outcome, not_offered.reason) == (
        Outcome.FALL_BACK,
        "the portal offers no motivo 'Remetente não recebeu o AR' (148)",
    )
    assert (login.outcome, login.reason) == (
        Outcome.FALL_BACK,
        "the portal refused the login: Usuário ou senha inválidos.",
    )
    assert replica.submissions == []


async def test_without_a_portal_password_or_chromium_a_person_files_it(
    site: tuple[Replica, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    no_password = PortalFiler(account(site[1], portal_password=""))
    monkeypatch.setenv("ZELO_CHROMIUM_PATH", "/nonexistent/chromium")
    no_browser = PortalFiler(account(site[1]))

    [a] = await no_password.file([claim()])
    [b] = await no_browser.file([claim()])

    assert (a.outcome, a.reason) == (
        Outcome.FALL_BACK,
        "the Correios account has no portal_password: Fale Conosco needs its login",
    )
    assert (b.outcome, b.reason) == (
        Outcome.FALL_BACK,
        "no Chromium at /nonexistent/chromium (ZELO_CHROMIUM_PATH): `make chromium` installs it",
    )


async def test_the_portal_is_not_followed_and_reactivation_is_a_persons_job(site: tuple[Replica, str]) -> None:
    portal = PortalFiler(account(site[1]))

    assert await portal.follow(["2026120001"]) == []
    again = await portal.reactivate("2026120001", 7, "the parcel never arrived")
    assert (again.claim_id, again.outcome, again.protocol) == (7, Outcome.FALL_BACK, "2026120001")
