"""Check-in links (signed, expiring) and answers: stored once, anything but "aceito" opens an incident
with the customer's words; opt-outs kept as keyed hashes."""

import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notifier.checkin import (
    CheckinError,
    checkin_links,
    incident_kind,
    make_token,
    read_token,
    record_answer,
    says_damaged,
)
from notifier.models import Checkin
from notifier.optout import address_hash
from notifier.vocabulary import CheckinAnswer
from tests.conftest import PG_DATABASE, PG_SERVER, _pg_admin
from tests.support import correios_account
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.db import make_engine, make_sessionmaker
from tracker.detector.models import Incident, IncidentChange
from tracker.detector.service import Detector
from tracker.migrate import upgrade
from tracker.models import Shipment
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault
from tracker.vocabulary import Kind

Sessions = async_sessionmaker[AsyncSession]
SECRET = "link-secret"
PHOTO = "3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6.jpg"  # a photo's name under the uploads folder


def test_a_token_names_its_shipment_until_it_expires(clock: SimulatedClock) -> None:
    now = clock.now()
    token = make_token(4242, secret=SECRET, expires_at=now + timedelta(days=14))
    assert len(token) < 48 and token.replace("-", "").replace("_", "").isalnum()
    assert read_token(token, secret=SECRET, now=now) == 4242
    assert read_token(token, secret=SECRET, now=now + timedelta(days=13, hours=23)) == 4242
    with pytest.raises(CheckinError) as expired:
        read_token(token, secret=SECRET, now=now + timedelta(days=14))
    assert expired.value.code == "expired" and "16/11/2026" in str(expired.value)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # another signature
        lambda t: t[:10],  # cut short
        lambda t: t + "AAAA",
        lambda t: "not a token!",
        lambda t: "",
        lambda t: t[:-1],  # a length no encoder produces
        lambda t: (
            base64.urlsafe_b64encode(  # another shipment id, same signature
                bytearray(base64.urlsafe_b64decode(t + "==")[:10]) + b"\x09" + base64.urlsafe_b64decode(t + "==")[11:]
            )
            .decode()
            .rstrip("=")
        ),
    ],
)
def test_an_altered_token_is_refused(clock: SimulatedClock, mangle: object) -> None:
    token = make_token(4242, secret=SECRET, expires_at=clock.now() + timedelta(days=1))
    with pytest.raises(CheckinError) as refused:
        read_token(mangle(token), secret=SECRET, now=clock.now())  # type: ignore[operator]
    assert refused.value.code == "tampered"


def test_tokens_are_bound_to_the_secret_and_their_purpose(clock: SimulatedClock) -> None:
    token = make_token(1, secret=SECRET, expires_at=clock.now() + timedelta(days=1))
    for kwargs in ({"secret": "other"}, {"secret": SECRET, "purpose": "optout"}):
        with pytest.raises(CheckinError, match="not one we sent"):
            read_token(token, now=clock.now(), **kwargs)  # type: ignore[arg-type]


def test_links(clock: SimulatedClock) -> None:
    settings = Settings(_env_file=None, public_base_url="https://zelo.example/", secret_key=SecretStr(SECRET))  # type: ignore[call-arg]
    links = checkin_links(12, settings=settings, now=clock.now())
    assert set(links) == {"checkin_accepted", "checkin_with_issue", "checkin_not_received", "optout"}
    token = links["checkin_accepted"].removeprefix("https://zelo.example/c/").split("?")[0]
    assert links["checkin_not_received"] == f"https://zelo.example/c/{token}?answer=not_received"
    assert read_token(token, secret=SECRET, now=clock.now() + timedelta(days=13)) == 12
    optout = links["optout"].removeprefix("https://zelo.example/optout/")
    assert read_token(optout, secret=SECRET, now=clock.now() + timedelta(days=300), purpose="optout") == 12


def test_which_incident_an_answer_opens() -> None:
    assert incident_kind(CheckinAnswer.ACCEPTED, "damaged", "quebrado") is None
    assert incident_kind(CheckinAnswer.NOT_RECEIVED, None, None) is Kind.NOT_RECEIVED
    assert incident_kind(CheckinAnswer.WITH_ISSUE, "damaged", None) is Kind.DAMAGED
    assert incident_kind(CheckinAnswer.WITH_ISSUE, "other", "A caixa veio AMASSADA") is Kind.DAMAGED
    assert incident_kind(CheckinAnswer.WITH_ISSUE, "wrong_items", "faltou a capa") is Kind.DIVERGENCE
    assert incident_kind(CheckinAnswer.WITH_ISSUE, None, None) is Kind.DIVERGENCE
    assert says_damaged("produto avariado") and says_damaged("veio danificada") and not says_damaged("cor errada")


def test_address_hash_is_keyed_and_normalized() -> None:
    assert address_hash(" Cliente@Example.COM ", "k") == address_hash("cliente@example.com", "k")
    assert address_hash("+55 (11) 98765-4321", "k") == address_hash("+5511987654321", "k")
    assert address_hash("cliente@example.com", "k") != address_hash("cliente@example.com", "other")
    assert len(address_hash("cliente@example.com", "k")) == 64


async def shipment(sessions: Sessions, vault: Vault, clock: SimulatedClock) -> int:
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="loja", now=clock.now())
        item = NewShipment("correios", account, "SS123456785BR", order_number="PED-1", destination_state="SP")
        await register(session, [item], clock.now())
        shipment_id = await session.scalar(select(Shipment.id))
        assert shipment_id is not None
        return int(shipment_id)


async def test_an_answer_is_stored_once(sessions: Sessions, vault: Vault, clock: SimulatedClock) -> None:
    sid = await shipment(sessions, vault, clock)
    async with sessions() as session, session.begin():
        row = await record_answer(
            session, sid, CheckinAnswer.ACCEPTED, " tudo ok ", None, now=clock.now(), detector=Detector()
        )
        assert (row.answer, row.comment, row.incident_id) == ("accepted", "tudo ok", None)
    with pytest.raises(CheckinError) as twice:
        async with sessions() as session, session.begin():
            await record_answer(
                session, sid, CheckinAnswer.NOT_RECEIVED, None, None, now=clock.now(), detector=Detector()
            )
    assert twice.value.code == "already_answered"
    async with sessions() as session:
        assert [c.answer for c in await session.scalars(select(Checkin))] == ["accepted"]
        assert list(await session.scalars(select(Incident))) == []


@pytest.mark.parametrize(
    ("answer", "reason", "comment", "kind"),
    [
        (CheckinAnswer.NOT_RECEIVED, None, "Ninguém entregou nada aqui", Kind.NOT_RECEIVED),
        (CheckinAnswer.WITH_ISSUE, "other", "A tela chegou trincada", Kind.DAMAGED),
        (CheckinAnswer.WITH_ISSUE, "wrong_items", "Veio a cor azul, pedi a vermelha", Kind.DIVERGENCE),
    ],
)
async def test_an_issue_opens_an_incident_with_the_customers_words(
    sessions: Sessions,
    vault: Vault,
    clock: SimulatedClock,
    answer: CheckinAnswer,
    reason: str | None,
    comment: str,
    kind: Kind,
) -> None:
    sid = await shipment(sessions, vault, clock)
    async with sessions() as session, session.begin():
        row = await record_answer(
            session, sid, answer, comment, PHOTO, now=clock.now(), detector=Detector(), reason=reason
        )
    async with sessions() as session:
        incident = await session.get(Incident, row.incident_id)
        assert incident is not None and incident.kind == kind.value and incident.status == "open"
        said = incident.evidence["checkin"]
        assert incident.evidence["source"] == "checkin"
        assert (said["answer"], said["comment"], said["photo"], said["reason"]) == (
            answer.value,
            comment,
            PHOTO,
            reason,
        )
        actions = [c.action for c in await session.scalars(select(IncidentChange))]
        assert actions == ["opened"]


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database of its own, for a migration to be run step by step."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        await engine.dispose()
        return
    name = f"{PG_DATABASE}_fresh"
    await _pg_admin(f"DROP DATABASE IF EXISTS {name}")
    await _pg_admin(f"CREATE DATABASE {name}")
    engine = make_engine(f"{PG_SERVER}/{name}")
    yield engine
    await engine.dispose()
    await _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_the_migration_keeps_only_the_name_of_photos_stored_by_path(
    fresh_engine: AsyncEngine, vault: Vault, clock: SimulatedClock
) -> None:
    await upgrade(fresh_engine, "0004")
    sessions = make_sessionmaker(fresh_engine)
    async with sessions() as session, session.begin():  # the account as the schema of then has it (no ORM)
        await session.execute(
            text(
                "INSERT INTO carrier_accounts (carrier, name, base_url, credentials, created_at, consecutive_failures) "
                "VALUES ('correios', 'loja', 'http://x', :sealed, :now, 0)"
            ),
            {"sealed": vault.seal({"user": "u", "access_code": "c", "posting_card": "1"}), "now": clock.now()},
        )
        item = NewShipment("correios", 1, "SS123456785BR", order_number="PED-1", destination_state="SP")
        await register(session, [item], clock.now())
        sid = int(await session.scalar(select(Shipment.id)) or 0)
    name = PHOTO
    async with sessions() as session, session.begin():
        row = await record_answer(
            session, sid, CheckinAnswer.NOT_RECEIVED, "nada", f"/srv/zelo/zelo-uploads/{name}", now=clock.now(),
            detector=Detector(),
        )  # fmt: skip
    await upgrade(fresh_engine)
    async with sessions() as session:
        checkin = await session.get(Checkin, row.id)
        incident = await session.get(Incident, row.incident_id)
    assert checkin is not None and checkin.photo_path == name
    assert incident is not None and incident.evidence["checkin"]["photo"] == name
    assert incident.evidence["checkin"]["comment"] == "nada"
