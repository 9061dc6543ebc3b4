"""The outbox end to end: every sandbox scenario, polled through the real adapter with the detector, queues
exactly the customer messages it should, once, in the same transactions as the changes that trigger them."""

import random
from collections import Counter
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxState, create_app, scenario_names
from notifier.labels import evidence_lines
from notifier.models import Notification
from notifier.outbox import Outbox
from tests.support import RecordingSleep, correios_account
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.detector.service import Detector
from tracker.detector.sweep import sweep
from tracker.models import Shipment
from tracker.polling.poller import Poller
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
CUSTOMER = {"posted", "out_for_delivery", "delivered", "checkin"}
EXPECTED = {  # scenario: the customer triggers queued (each on e-mail and on the wa.me queue)
    "on_time": CUSTOMER,
    "late": CUSTOMER | {"delayed"},
    "lost": {"posted", "delayed", "lost"},
    "stolen": {"posted", "stolen"},
    "damaged": CUSTOMER | {"damaged"},
    "failed_attempts": CUSTOMER | {"failed_attempt"},
    "pickup_returned": {"posted", "out_for_delivery", "failed_attempt", "awaiting_pickup", "returning"},
    "customs_hold": {"posted", "customs_hold"},
    "address_problem": {"posted", "out_for_delivery", "returning"},
    "refused": {"posted", "out_for_delivery", "returning"},
    "reversal": CUSTOMER,
    "unknown_code": CUSTOMER,
    "not_found": set(),
    "invalid": set(),
}


CONTACT = {"customer_email": "cliente@example.com", "customer_phone": "+5511987654321", "customer_consent": True}


async def play(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, settings: Settings, contact: dict[str, object] = CONTACT
) -> None:
    start = clock.now()
    sandbox = SandboxState(clock=clock)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sandbox)))
    parcels = [Parcel(make_code("SS", i), name, start + timedelta(hours=i)) for i, name in enumerate(scenario_names())]
    sandbox.register(parcels)
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="sandbox", base_url="http://sandbox", now=start)
        await register(session, [NewShipment("correios", account, p.code, **contact) for p in parcels], start)
    detector = Detector(listeners=[Outbox(settings)])
    poller = Poller(sessions, http, clock, vault, sleep=RecordingSleep(), rng=random.Random(2), detector=detector)
    while clock.now() - start < timedelta(days=21):
        await poller.run_once()
        await sweep(sessions, detector, clock.now())
        clock.advance(timedelta(hours=1))


async def queued(sessions: Sessions) -> list[tuple[str, str, str, str | None]]:
    scenario_of = {make_code("SS", i): name for i, name in enumerate(scenario_names())}
    async with sessions() as session:
        rows = await session.execute(
            select(Shipment.tracking_code, Notification.trigger, Notification.channel, Notification.dedupe_key).join(
                Shipment, Shipment.id == Notification.shipment_id
            )
        )
        return [(scenario_of[code], trigger, channel, key) for code, trigger, channel, key in rows]


async def test_every_scenario_queues_exactly_its_messages_once(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    settings = Settings(ops_webhook_url="http://ops.example/hook", ops_email="operacao@loja.example")
    await play(sessions, clock, vault, settings)
    rows = await queued(sessions)
    found: dict[str, set[str]] = {name: set() for name in scenario_names()}
    per_message = Counter(
        (scenario, trigger, channel) for scenario, trigger, channel, _ in rows if not channel.startswith("ops_")
    )
    for scenario, trigger, channel, _ in rows:
        if not channel.startswith("ops_"):
            found[scenario].add(trigger)
    # the adaptive schedule may see "out for delivery" and the address failure five hours later in one poll
    found["address_problem"].add("out_for_delivery")
    assert found == EXPECTED
    assert {c for _, _, c, _ in rows} == {"email", "wa_link", "ops_webhook", "ops_email"}  # no Cloud API configured
    # one message per trigger and channel; a new delivery attempt is news, the pickup gets a reminder, and a
    # customs hold is told twice: under inspection, then the tax to pay
    twice = {"out_for_delivery": (1, 2), "awaiting_pickup": (2,), "customs_hold": (2,)}
    odd = {k: n for k, n in per_message.items() if n not in twice.get(k[1], (1,))}
    assert odd == {}, odd
    # ops hear of the high and critical incidents at once, of the medium ones in the digest (the ops e-mail)
    ops = {
        c: Counter(scenario for scenario, _, channel, _ in rows if channel == c) for c in ("ops_webhook", "ops_email")
    }
    assert ops["ops_webhook"]["lost"] >= 1 and ops["ops_webhook"]["stolen"] == 1 and ops["ops_webhook"]["on_time"] == 0
    assert ops["ops_webhook"]["customs_hold"] == 0 and ops["ops_email"]["customs_hold"] == 1  # medium
    assert ops["ops_webhook"]["late"] == 1 and ops["ops_email"]["late"] == 3  # stalled, delayed, then escalated
    async with sessions() as session:
        said = (
            await session.scalars(
                select(Notification).where(Notification.trigger.in_(["customs_hold", "ops_incident"]))
            )
        ).all()
    customs = sorted(
        (n.facts["status_reason"], n.facts["evidence"]["event"]["code"]) for n in said if n.channel == "email"
    )
    assert customs == [("customs_inspection", "PAR-16"), ("customs_tax_due", "BDE-54")]
    alerts = [n for n in said if n.trigger == "ops_incident"]
    assert {n.facts["severity"] for n in alerts if n.channel == "ops_webhook"} == {"high", "critical"}
    assert {n.facts["severity"] for n in alerts if n.channel == "ops_email"} == {"medium", "high", "critical"}
    assert all(n.facts["owner"] and n.facts["next_action"] and n.facts["triage_due_at"] for n in alerts)
    unlabeled = {key for n in alerts for key, _ in evidence_lines(n.facts["evidence"]) if "_" in key or "." in key}
    assert unlabeled == set()  # every evidence key the scenarios raise reads as words (labels.toml)


async def test_whatsapp_only_with_consent_and_email_only_with_an_address(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await play(sessions, clock, vault, Settings(), {"customer_phone": "+5511987654321", "customer_consent": False})
    assert await queued(sessions) == []


async def test_the_cloud_api_when_configured(sessions: Sessions, clock: SimulatedClock, vault: Vault) -> None:
    settings = Settings(whatsapp_token="t", whatsapp_phone_id="1")
    await play(sessions, clock, vault, settings, {"customer_phone": "+5511987654321", "customer_consent": True})
    assert {c for _, _, c, _ in await queued(sessions)} == {"whatsapp"}
