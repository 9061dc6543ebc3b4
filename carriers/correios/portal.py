"""``correios_portal``: files a claim on the Correios "Fale Conosco" web form, as a person would, in Chromium.

For claims the REST API will not take (code 262, motivo not allowed by web service) or accounts without a
contract. Per claim: log in when the portal asks, choose the manifestação type, then the motivo (the portal's
words for each Correios code are ``portal_motivos.csv``), fill object code, addressee, packaging, description and
reply e-mail, submit, and read the protocol number back from the confirmation page. Every page is classified:

- the confirmation page → ``filed`` with its protocol; "já existe manifestação" → ``already_filed`` with the
  protocol the page shows, else ``fall_back`` (a person looks it up, never a second filing);
- a validation message on the form → ``refused`` with the page's message;
- the login page again (the session expired), a captcha, a refused login, a motivo the portal does not offer
  → ``fall_back`` with the reason: a person files it from the packet;
- a browser crash or a timeout → ``retry`` (filing again is safe: the portal answers "já existe").

The portal is not followed: its answers go to the reply e-mail, so :meth:`PortalFiler.follow` answers nothing
and a person records the verdict; a reactivation is a person's job too. Chromium is the system one
(``ZELO_CHROMIUM_PATH``, default ``/usr/bin/chromium``; ``make chromium`` installs it), never a download.
Account credentials: ``portal_password`` (required here), ``portal_user`` (default: ``user``), ``portal_url``.
"""

import csv
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from carriers.base import AccountConfig, Answer, ClaimRequest, Filing, Now, Outcome, Sleep

if TYPE_CHECKING:
    from playwright.async_api import Browser, Locator, Page

NAME = "correios_portal"
PORTAL_URL = "https://faleconosco.correios.com.br/faleconosco/app/index.php"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
MOTIVOS_PATH = Path(__file__).with_name("portal_motivos.csv")

# The portal's words, in one place: the filer finds fields by their labels, as a person reads the page.
TYPES = {"R": "Reclamação", "I": "Solicitação de ressarcimento"}
PACKAGING = {"C": "Caixa", "E": "Envelope"}
USER, PASSWORD, LOG_IN = "Usuário", "Senha", "Entrar"
MOTIVO, CONTINUE, SUBMIT = "Motivo", "Continuar", "Enviar"
OBJECT, ADDRESSEE, DESCRIPTION, EMAIL = "Código do objeto", "Nome do destinatário", "Descreva o ocorrido", "E-mail"
CAPTCHA = "[class*=captcha i], [id*=captcha i], img[alt*=captcha i], iframe[src*=recaptcha], iframe[src*=hcaptcha]"
EXPIRED = re.compile(r"sess[ãa]o\s+(expirada|expirou)", re.IGNORECASE)
ALREADY = re.compile(r"j[áa]\s+existe\s+manifesta", re.IGNORECASE)
PROTOCOL = re.compile(r"protocolo\D{0,30}?(\d{6,20})", re.IGNORECASE)
E_MAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")

Launch = Callable[[], AbstractAsyncContextManager["Browser"]]


class ChromiumMissing(FileNotFoundError):
    """No Chromium where the filer looks: a person files until ``make chromium`` has run."""


class _Stop(Exception):
    """This claim ends here, with this filing."""

    def __init__(self, filing: Filing) -> None:
        super().__init__(filing.reason)
        self.filing = filing


@cache
def motivo_choices(path: Path = MOTIVOS_PATH) -> Mapping[int, str]:
    """Correios motivo code → the portal's choice for it."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {int(row["motivo"]): row["choice"] for row in csv.DictReader(handle)}


def chromium_path() -> str:
    return os.environ.get("ZELO_CHROMIUM_PATH") or DEFAULT_CHROMIUM


@asynccontextmanager
async def system_chromium() -> AsyncIterator["Browser"]:
    """A headless system Chromium for one batch."""
    from playwright.async_api import async_playwright

    path = chromium_path()
    if not os.access(path, os.X_OK):
        raise ChromiumMissing(f"no Chromium at {path} (ZELO_CHROMIUM_PATH): `make chromium` installs it")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


class PortalFiler:
    name = NAME
    batch_limit = 20  # one after another in one logged-in browser

    def __init__(
        self,
        account: AccountConfig,
        http: httpx.AsyncClient | None = None,
        now: Now | None = None,
        sleep: Sleep | None = None,
        *,
        launch: Launch = system_chromium,
        timeout_s: float = 20.0,
    ) -> None:
        creds = account.credentials
        self.url = creds.get("portal_url") or PORTAL_URL
        self.user = creds.get("portal_user") or creds.get("user", "")
        self.password = creds.get("portal_password", "")
        self.launch, self.timeout_ms = launch, timeout_s * 1000

    async def file(self, requests: Sequence[ClaimRequest]) -> list[Filing]:
        if not self.password:
            reason = "the Correios account has no portal_password: Fale Conosco needs its login"
            return [Filing(r.claim_id, Outcome.FALL_BACK, reason=reason) for r in requests]
        from playwright.async_api import Error

        filings: dict[int, Filing] = {}
        try:
            async with self.launch() as browser:
                context = await browser.new_context(locale="pt-BR")
                try:
                    context.set_default_timeout(self.timeout_ms)
                    page = await context.new_page()
                    for r in requests:
                        if not browser.is_connected():
                            break
                        try:
                            filings[r.claim_id] = await self._file_one(page, r)
                        except _Stop as stop:
                            filings[r.claim_id] = stop.filing
                        except Error as e:  # a timeout or a crashed page, maybe after submitting: filing again
                            # is safe, the portal answers "já existe" with the protocol
                            filings[r.claim_id] = Filing(r.claim_id, Outcome.RETRY, reason=_fault(e, r))
                            await page.close()
                            page = await context.new_page()
                finally:
                    await context.close()
        except ChromiumMissing as e:
            return [Filing(r.claim_id, Outcome.FALL_BACK, reason=str(e)) for r in requests]
        except Error as e:  # the browser died or would not start
            reason = _fault(e, None)
            return [filings.get(r.claim_id) or Filing(r.claim_id, Outcome.RETRY, reason=reason) for r in requests]
        reason = "the browser closed before this claim"
        return [filings.get(r.claim_id) or Filing(r.claim_id, Outcome.RETRY, reason=reason) for r in requests]

    async def follow(self, protocols: Sequence[str]) -> list[Answer]:
        """Nothing: the portal answers by e-mail to the reply address, and a person records the verdict."""
        return []

    async def reactivate(self, protocol: str, claim_id: int, reason: str) -> Filing:
        why = f"the portal filer does not reactivate: a person reopens protocol {protocol} on Fale Conosco"
        return Filing(claim_id, Outcome.FALL_BACK, protocol=protocol, reason=why)

    async def _file_one(self, page: "Page", r: ClaimRequest) -> Filing:
        choice = motivo_choices().get(r.motivo)
        if choice is None:
            raise _Stop(_fall_back(r, f"motivo {r.motivo} has no Fale Conosco choice"))
        await page.goto(self.url)
        seen = await _read(page, r, logged_in=False)
        if seen.login:
            await page.get_by_label(USER).fill(self.user)
            await page.get_by_label(PASSWORD, exact=True).fill(self.password)
            await _go(page, page.get_by_role("button", name=LOG_IN))
            seen = await _read(page, r, logged_in=False)
            if seen.login:
                raise _Stop(_fall_back(r, f"the portal refused the login: {seen.alerts or 'no message'}"))
        await page.get_by_label(TYPES[r.manifestation.value], exact=True).check()
        await _go(page, page.get_by_role("button", name=CONTINUE))
        await _read(page, r)
        select = page.get_by_label(MOTIVO)
        if choice not in [o.strip() for o in await select.locator("option").all_inner_texts()]:
            raise _Stop(_fall_back(r, f"the portal offers no motivo {choice!r} ({r.motivo})"))
        await select.select_option(label=choice)
        await _go(page, page.get_by_role("button", name=CONTINUE))
        await _read(page, r)
        await page.get_by_label(OBJECT).fill(r.tracking_code)
        await page.get_by_label(ADDRESSEE).fill(r.addressee_name)
        await page.get_by_label(PACKAGING.get(r.packaging, PACKAGING["C"]), exact=True).check()
        await page.get_by_label(DESCRIPTION).fill(r.note)
        await page.get_by_label(EMAIL).fill(r.reply_email)
        await _go(page, page.get_by_role("button", name=SUBMIT))
        return _answer(await _read(page, r), r)


@dataclass(frozen=True, slots=True)
class _Seen:
    """What one page shows, read in one round trip to the browser."""

    text: str
    alerts: str  # the page's messages (role=alert), customer data masked
    login: bool  # a password field: the login page
    captcha: bool


_READ = """(captcha) => ({
  text: document.body.innerText,
  alerts: [...document.querySelectorAll('[role=alert]')].map((e) => e.innerText.trim()).filter(Boolean),
  login: !!document.querySelector('input[type=password]'),
  captcha: !!document.querySelector(captcha),
})"""


async def _read(page: "Page", r: ClaimRequest, *, logged_in: bool = True) -> _Seen:
    """The page, or a stop where a person must take over: the session expired (the login page again), or a
    captcha."""
    got = await page.evaluate(_READ, CAPTCHA)
    seen = _Seen(got["text"], _mask(" ".join(got["alerts"]), r), got["login"], got["captcha"])
    if EXPIRED.search(seen.text) or (logged_in and seen.login):
        raise _Stop(_fall_back(r, "the portal session expired mid-filing; nothing is known to be filed"))
    if seen.captcha:
        raise _Stop(_fall_back(r, f"the portal asks for a captcha on {page.url}"))
    return seen


def _answer(seen: _Seen, r: ClaimRequest) -> Filing:
    """What the page after submitting says: an error message, or the confirmation with its protocol."""
    if seen.alerts and ALREADY.search(seen.alerts):
        if found := PROTOCOL.search(seen.alerts):
            return Filing(r.claim_id, Outcome.ALREADY_FILED, protocol=found[1], reason=seen.alerts)
        why = f"the portal holds a manifestação for this object but shows no protocol: {seen.alerts}"
        return _fall_back(r, why)
    if seen.alerts:
        return Filing(r.claim_id, Outcome.REFUSED, reason=seen.alerts)
    if found := PROTOCOL.search(seen.text):
        return Filing(r.claim_id, Outcome.FILED, protocol=found[1])
    return Filing(r.claim_id, Outcome.RETRY, reason="the portal answered neither a protocol nor an error")


async def _go(page: "Page", button: "Locator") -> None:
    """Click and wait for the next page."""
    async with page.expect_navigation():
        await button.click()


def _mask(text: str, r: ClaimRequest) -> str:
    """The page may echo customer data: never into a filing's reason."""
    if r.addressee_name.strip():
        text = text.replace(r.addressee_name.strip(), "***")
    return E_MAIL.sub("***@***", text)


def _fall_back(r: ClaimRequest, reason: str) -> Filing:
    return Filing(r.claim_id, Outcome.FALL_BACK, reason=reason)


def _fault(e: Exception, r: ClaimRequest | None) -> str:
    first = (str(e).strip().splitlines() or [""])[0]  # the first line: Playwright's call log may quote the page
    reason = f"browser fault, file again later: {type(e).__name__}: {first}"
    return _mask(reason, r) if r else E_MAIL.sub("***@***", reason)
