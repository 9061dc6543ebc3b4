"""Alerts of other features (a claim's deadline) go out through the notifier: once per key, by severity at
once or in the digest, in pt-BR words ops act on."""

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from claims.deadlines import alert_for
from notifier.alerts import queue_alerts
from notifier.context import message_context
from notifier.models import Notification
from notifier.outbox import Outbox
from notifier.render import render
from notifier.vocabulary import Channel, Trigger
from tests.notifier.test_render import SETTINGS, SHIPMENT
from tracker.config import Settings
from tracker.signals import Alert
from tracker.vocabulary import Severity

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CLAIM = SimpleNamespace(
    id=7, shipment_id=1, claim_type="indemnity", kind="lost", status="ready", protocol=None,
    closes_at=datetime(2026, 11, 27, 23, 59, tzinfo=UTC), amount_claimed=Decimal("1234.5"),
)  # fmt: skip


def facts(alert: Alert) -> dict[str, Any]:
    return alert.facts | {"severity": alert.severity.value}


@pytest.mark.parametrize(
    ("event", "key", "extra", "subject", "text"),
    [
        ("closing", "closing:2", {"business_days_left": 2}, "faltam 2 dias úteis", "o prazo termina em 27/11/2026"),
        ("expired", "expired", {}, "Reclamação PERDIDA", "terminou em 27/11/2026 sem que ela fosse registrada"),
        ("refused", "refused", {"code": "544", "reason": "too early"}, "recusada pela transportadora (544)",
         "código 544, too early"),
        ("answer_overdue", "answer_overdue:x", {"answer_due_on": "26/11/2026"}, "sem resposta no prazo",
         "esperada até 26/11/2026"),
    ],
)  # fmt: skip
def test_a_claim_alert_reads_in_pt_br_with_the_order_the_amount_and_its_link(
    event: str, key: str, extra: dict[str, Any], subject: str, text: str
) -> None:
    alert = alert_for(CLAIM, event, "high", key, **extra)
    context = message_context(SHIPMENT, facts(alert), settings=SETTINGS, links={})
    out = render(Trigger.OPS_CLAIM, Channel.OPS_EMAIL, context)
    assert subject in out.subject and "SS123456785BR" in out.subject
    assert text in out.text and "Valor reclamado: R$ 1.234,50" in out.text
    assert "/v1/claims/7" in out.text


async def test_alerts_are_queued_once_per_key_and_by_severity(sessions: async_sessionmaker[AsyncSession]) -> None:
    from tests.claims.conftest import Parcels
    from tracker.clock import SimulatedClock
    from tracker.vault import Vault

    shipment = await Parcels(sessions, Vault("t"), SimulatedClock(NOW).now).shipment()
    outbox = Outbox(Settings(ops_email="ops@loja.example", ops_webhook_url="https://hooks.example/x"))
    critical = Alert(shipment, "claim", "claim:1:expired", Severity.CRITICAL, {"event": "expired"})
    medium = Alert(shipment, "claim", "claim:1:answer_overdue:x", Severity.MEDIUM, {"event": "answer_overdue"})
    async with sessions() as session, session.begin():
        assert await queue_alerts(session, outbox, [critical, medium], NOW) == 3  # 2 channels + the digest only
        assert await queue_alerts(session, outbox, [critical, medium], NOW) == 0  # once per key
    async with sessions() as session:
        rows = [(n.trigger, n.channel, n.facts["event"]) for n in await session.scalars(select(Notification))]
    assert sorted(rows) == [
        ("ops_claim", "ops_email", "answer_overdue"),
        ("ops_claim", "ops_email", "expired"),
        ("ops_claim", "ops_webhook", "expired"),
    ]
    with pytest.raises(ValueError, match="alert topic 'other'"):
        async with sessions() as session:
            await queue_alerts(session, outbox, [Alert(shipment, "other", "k", Severity.LOW, {})], NOW)
