"""The generic filers and where the filing loop finds every filer: the e-mail filer against a real SMTP peer on
loopback (a letter with the packet attached, one Message-ID per claim, which is its protocol; every SMTP answer
classified), the manual one, and the carrier's own filers made once per carrier account."""

import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from carriers.base import AccountConfig, ClaimRequest, Filing, Manifestation, NotSupported, Outcome, registry
from claims.filers import EmailFiler, ManualFiler, RuntimeFilers, filers_of, message_id
from claims.filing import Filer
from claims.policy import Policies, load_policies
from claims.service import Claims
from tests.claims.conftest import Parcels
from tests.claims.test_filing import FakeCarrier, ready_claims
from tests.notifier.channels.conftest import SMTPServer, smtp_down, smtp_server  # noqa: F401
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.models import Shipment
from tracker.runtime import Runtime
from tracker.vault import Vault

CARRIER_DESK = "sinistros@carrier.example"
INDEMNITY = "Indenização (extravio, roubo ou avaria) e frete"


@pytest.fixture(autouse=True)
def by_email(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every claim here is filed by e-mail to the carrier's desk, as soon as it is ready."""
    original = Policies.for_shipment

    def policy(self: Policies, carrier: str, service: str | None) -> Any:
        return replace(original(self, carrier, service), filer="email", filing="auto", claim_email=CARRIER_DESK)

    monkeypatch.setattr(Policies, "for_shipment", policy)


def make_runtime(
    engine: AsyncEngine, sessions: Any, clock: SimulatedClock, http: httpx.AsyncClient, **settings: Any
) -> Runtime:
    loaded = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key=SecretStr("test-secret"),
        email_from="Loja Exemplo <sac@loja.example>",
        store_name="Loja Exemplo",
        **settings,
    )
    return Runtime(loaded, engine, sessions, http, Vault("test-secret"), clock)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def request(claim_id: int, code: str = "CL000000019BR") -> ClaimRequest:
    return ClaimRequest(claim_id, code, 211, Manifestation.REFUND, "C", "Maria Silva", "sac@loja.example", "-")


async def tracking_code(sessions: async_sessionmaker[AsyncSession], shipment_id: int) -> str:
    async with sessions() as session:
        shipment = await session.get(Shipment, shipment_id)
        assert shipment is not None
        return shipment.tracking_code


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_an_email_claim_is_a_letter_with_its_packet_and_its_message_id_is_the_protocol(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, engine: AsyncEngine,
    http: httpx.AsyncClient, smtp_server: SMTPServer,  # noqa: F811
) -> None:  # fmt: skip
    [shipment] = await ready_claims(parcels, sessions, 1)
    code = await tracking_code(sessions, shipment)
    runtime = make_runtime(engine, sessions, clock, http, smtp_url=smtp_server.url)
    report = await Filer(sessions, Claims(), filers_of(runtime), reply_email="sac@loja.example").file_due(clock.now())
    assert report.filed == 1
    [claim] = await parcels.claims(shipment)
    assert claim.status == "filed" and claim.protocol == f"<zelo-claim-{claim.id}.{code.lower()}@loja.example>"
    [got] = smtp_server.handler.received
    assert got.rcpt_tos == [CARRIER_DESK]
    mail = parsed(got.raw)
    assert mail["Message-ID"] == claim.protocol and mail["Reply-To"] == "sac@loja.example"
    assert mail["Subject"] == f"Reclamação ZELO-{claim.id}: {INDEMNITY}, objeto {code}"
    body = mail.get_body(("plain",))
    assert body is not None and code in body.get_content() and "R$ 230,00" in body.get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"reclamacao-ZELO-{claim.id}.pdf"
    assert attachment.get_content().startswith(b"%PDF-")
    # sent again (a filer killed before its answer was recorded): the same message to the carrier's desk
    filer = await filers_of(runtime).filer("email", "correios", None)
    [again] = await filer.file([request(claim.id, code)])
    assert (again.outcome, again.protocol) == (Outcome.FILED, claim.protocol)
    assert parsed(smtp_server.handler.received[1].raw)["Message-ID"] == claim.protocol
    await runtime.aclose()


@dataclass
class Desk:
    """A policy table whose every policy names ``address`` as the carrier's claim desk."""

    address: str

    def for_shipment(self, carrier: str, service: str | None) -> Any:
        return replace(load_policies().default, claim_email=self.address)


async def test_every_smtp_answer_is_classified(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], smtp_server: SMTPServer,  # noqa: F811
    smtp_down: SMTPServer, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    [shipment] = await ready_claims(parcels, sessions, 1)
    [claim] = await parcels.claims(shipment)

    async def filed(address: str, url: str | None = smtp_server.url) -> Filing:
        filer = EmailFiler(sessions, Desk(address), "sac@loja.example", "Loja", tmp_path, url)  # type: ignore[arg-type]
        [answer] = await filer.file([request(claim.id)])
        return answer

    later = await filed("later@carrier.example")
    assert (later.outcome, later.code, later.protocol) == (Outcome.RETRY, "451", None)
    bounce = await filed("bounce@carrier.example")
    assert (bounce.outcome, bounce.code) == (Outcome.FALL_BACK, "550") and "mailbox unavailable" in bounce.reason
    down = await filed(CARRIER_DESK, smtp_down.url)
    assert down.outcome is Outcome.RETRY and "unavailable" in down.reason
    nowhere = await filed("")
    assert nowhere.outcome is Outcome.FALL_BACK and "names no claim_email" in nowhere.reason
    unset = await filed(CARRIER_DESK, None)
    assert unset.outcome is Outcome.FALL_BACK and "ZELO_SMTP_URL" in unset.reason
    assert smtp_server.handler.received == []
    folder = EmailFiler(sessions, Desk(CARRIER_DESK), "sac@loja.example", "Loja", tmp_path, None, tmp_path / "mail")  # type: ignore[arg-type]
    [written] = await folder.file([request(claim.id)])
    assert written.outcome is Outcome.FILED
    assert parsed((tmp_path / "mail" / f"claim-{claim.id}.eml").read_bytes())["Message-ID"] == written.protocol


async def test_the_manual_filer_leaves_it_to_a_person() -> None:
    [answer] = await ManualFiler().file([request(7)])
    assert answer.outcome is Outcome.FALL_BACK and "zelo claims filed" in answer.reason
    assert await ManualFiler().follow(["P1"]) == []


def test_message_ids_are_deterministic_and_fit_the_protocol_column() -> None:
    assert message_id(12, "AA123456789BR", "Loja <sac@loja.example>") == "<zelo-claim-12.aa123456789br@loja.example>"
    sender = "sac@" + "x" * 60 + ".example"
    long = message_id(12, "AA123456789BR", sender)
    assert len(long) <= 64 and long.endswith("@zelo>") and long == message_id(12, "AA123456789BR", sender)


@dataclass
class Closing(FakeCarrier):
    closed: bool = False

    async def aclose(self) -> None:
        self.closed = True


async def test_carrier_filers_are_made_once_per_account_with_its_credentials(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, engine: AsyncEngine,
    http: httpx.AsyncClient, vault: Vault,
) -> None:  # fmt: skip
    await parcels.shipment()  # makes the account
    made: list[AccountConfig] = []

    def make(account: AccountConfig, client: Any, now: Any, sleep: Any) -> Closing:
        made.append(account)
        return Closing()

    registry.register(replace(registry.get("correios"), filers={"correios_api": make}))
    try:
        filers = RuntimeFilers(make_runtime(engine, sessions, clock, http))
        first = await filers.filer("correios_api", "correios", parcels.account_id)
        assert await filers.filer("correios_api", "correios", parcels.account_id) is first
        assert [(a.id, a.carrier, dict(a.credentials)) for a in made] == [
            (parcels.account_id, "correios", {"user": "u", "access_code": "c", "posting_card": "1"})
        ]
        assert await filers.filer("email", "correios", 1) is await filers.filer("email", "loggi", None)
        assert isinstance(await filers.filer("manual", "correios", 1), ManualFiler)
        with pytest.raises(NotSupported):
            await filers.filer("correios_portal", "correios", parcels.account_id)
        with pytest.raises(LookupError):
            await filers.filer("correios_api", "correios", None)
        await filers.aclose()
        assert isinstance(first, Closing) and first.closed
    finally:
        registry.unregister("correios")


async def test_a_carrier_without_the_filer_falls_back_to_a_person(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, engine: AsyncEngine,
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    original = Policies.for_shipment
    monkeypatch.setattr(Policies, "for_shipment", lambda self, c, s: replace(original(self, c, s), filer="nope"))
    [shipment] = await ready_claims(parcels, sessions, 1)
    filers = RuntimeFilers(make_runtime(engine, sessions, clock, http))
    report = await Filer(sessions, Claims(), filers, reply_email="sac@loja.example").file_due(clock.now())
    [claim] = await parcels.claims(shipment)
    assert report.fell_back == 1 and (claim.status, claim.filer) == ("ready", "manual")
