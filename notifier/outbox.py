"""The outbox: turns raised incidents and status moves into notification rows, in the same transaction
(DESIGN §1 rule 2). Each row's ``dedupe_key`` is unique, so a retried transaction, a second detector run
or a second poller never queues a message twice. Nothing is sent here: the dispatcher delivers.

Ops alerts carry what ops need to act (the incident's owner, next action and triage deadline); incidents
below the policy's ``at_once_severity`` wait for the ops digest. One message per status change (keyed on
the event that changed it), never one per checkpoint; nothing
for a shipment whose first sight was already the end of its journey; WhatsApp only with the customer's
consent, through the Cloud API when configured, else the wa.me queue for ops.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import Status
from notifier.config import Policy, load_policy
from notifier.models import notifications_table
from notifier.vocabulary import Channel, NotificationStatus, Trigger
from tracker.bulk import insert_rows
from tracker.config import Settings
from tracker.detector import incidents_table
from tracker.models import shipments_table
from tracker.signals import Moved, Raised
from tracker.vocabulary import Kind, Severity

BY_STATUS = {
    Status.OUT_FOR_DELIVERY: Trigger.OUT_FOR_DELIVERY,
    Status.DELIVERED: Trigger.DELIVERED,
    Status.RETURNING: Trigger.RETURNING,
}
BY_KIND = {
    Kind.FAILED_ATTEMPT: Trigger.FAILED_ATTEMPT,
    Kind.AWAITING_PICKUP: Trigger.AWAITING_PICKUP,
    Kind.DELAYED: Trigger.DELAYED,
    Kind.LOST: Trigger.LOST,
    Kind.STOLEN: Trigger.STOLEN,
    Kind.DAMAGED: Trigger.DAMAGED,
    Kind.CUSTOMS_HOLD: Trigger.CUSTOMS_HOLD,
}
CUSTOMER_ACTIONS = frozenset({"opened", "reopened", "retriggered"})
OPS = frozenset({Channel.OPS_WEBHOOK, Channel.OPS_EMAIL})
_s, _i = shipments_table.c, incidents_table.c
_CONTACT = select(_s.id, _s.customer_email, _s.customer_phone, _s.customer_consent, _s.promise_date, _s.status_reason)
_TRIAGE = select(_i.id, _i.owner, _i.next_action, _i.triage_due_at)  # what ops read to act


@dataclass
class Outbox:
    """The detector's listener that queues notifications."""

    settings: Settings
    policy: Policy = field(default_factory=load_policy)

    async def __call__(self, session: AsyncSession, raised: list[Raised], moved: list[Moved], now: datetime) -> None:
        ids = {r.shipment_id for r in raised} | {m.shipment_id for m in moved}
        contacts = {row.id: row for row in await session.execute(_CONTACT.where(_s.id.in_(ids)))}
        over = {m.shipment_id for m in moved if m.previous is Status.PENDING and m.status.is_final}
        rows: list[dict[str, Any]] = []
        for m in moved:
            contact = contacts.get(m.shipment_id)
            if contact is None or m.shipment_id in over:
                continue  # nothing for a parcel whose journey was over when Zelo first saw it
            at = (m.at or now).isoformat()
            for trigger in _status_triggers(m):
                facts: dict[str, Any] = {"status": m.status.value, "event_at": at}
                key = at if trigger is Trigger.OUT_FOR_DELIVERY else "once"  # a new attempt is news; the rest once
                rows += self._customer(contact, trigger, key, facts, now, now, None)
            if m.status is Status.DELIVERED:
                due = max((m.at or now) + self.policy.checkin_after, now)
                rows += self._customer(contact, Trigger.CHECKIN, "once", {}, now, due, None)
        alerting = [r for r in raised if self._alerts_ops(r)] if self.ops_channels(Trigger.OPS_INCIDENT) else []
        triage = {}
        if alerting:
            found = await session.execute(_TRIAGE.where(_i.id.in_({r.incident_id for r in alerting})))
            triage = {t.id: t for t in found}
        for r in raised:
            facts = {"kind": r.kind.value, "evidence": r.evidence, "severity": r.severity.value, "action": r.action}
            key = f"{r.incident_id}:{hashlib.blake2b(f'{r.action}|{r.trigger}'.encode(), digest_size=6).hexdigest()}"
            told = BY_KIND.get(r.kind)
            reminder = r.kind is Kind.AWAITING_PICKUP and r.action == "escalated"
            contact = contacts.get(r.shipment_id)
            if told and contact and r.shipment_id not in over and (r.action in CUSTOMER_ACTIONS or reminder):
                said = facts | {"reminder": reminder, "status_reason": contact.status_reason}
                rows += self._customer(contact, told, key, said, now, now, r.incident_id)
            if (t := triage.get(r.incident_id)) is not None:
                ops = {"owner": t.owner, "next_action": t.next_action, "triage_due_at": t.triage_due_at.isoformat()}
                rows += self._ops(r, key, facts | ops, now)
        if rows:
            await insert_rows(session, notifications_table, rows, ["dedupe_key"])

    def _customer(
        self,
        contact: Any,
        trigger: Trigger,
        key: str,
        facts: dict[str, Any],
        now: datetime,
        due: datetime,
        incident_id: int | None,
    ) -> list[dict[str, Any]]:
        rows = []
        facts = facts | {"expected_date": contact.promise_date.isoformat() if contact.promise_date else None}
        for channel in self.policy.channels(trigger):
            if channel is Channel.EMAIL and not contact.customer_email:
                continue
            if channel is Channel.WHATSAPP:
                if not (contact.customer_phone and contact.customer_consent):
                    continue  # LGPD: WhatsApp only with the consent the ERP passed on
                channel = Channel.WHATSAPP if self.settings.whatsapp_token else Channel.WA_LINK
            dedupe = f"{contact.id}:{trigger}:{key}:{channel}"
            rows.append(queue_row(contact.id, trigger, channel, dedupe, facts, now, due, incident_id))
        return rows

    def ops_channels(self, trigger: Trigger) -> list[Channel]:
        """The ops channels ``trigger`` goes through that the settings configure."""
        configured = {Channel.OPS_WEBHOOK: self.settings.ops_webhook_url, Channel.OPS_EMAIL: self.settings.ops_email}
        return [c for c in self.policy.channels(trigger) if configured.get(c)]

    def _alerts_ops(self, r: Raised) -> bool:
        """Whether ``r`` alerts ops: opened, reopened or escalated, at least as severe as the policy asks."""
        policy = self.policy.triggers.get(Trigger.OPS_INCIDENT)
        floor = policy.min_severity if policy else None
        return r.action in ("opened", "reopened", "escalated") and not (floor and r.severity.rank < floor.rank)

    def ops_route(self, trigger: Trigger, severity: Severity) -> list[Channel]:
        """The ops channels an alert goes through: one less severe than the trigger's ``at_once_severity`` only
        in the digest, if one is configured."""
        channels = self.ops_channels(trigger)
        policy = self.policy.triggers.get(trigger)
        at_once = policy.at_once_severity if policy else None
        if at_once is not None and severity.rank < at_once.rank:
            channels = [c for c in channels if c in self.policy.digest] or channels
        return channels

    def _ops(self, r: Raised, key: str, facts: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
        """Alerts of an incident."""
        trigger = Trigger.OPS_INCIDENT
        return [
            queue_row(r.shipment_id, trigger, c, f"ops:{key}:{c}", facts, now, self.policy.due(c, now), r.incident_id)
            for c in self.ops_route(trigger, r.severity)
        ]


def _status_triggers(m: Moved) -> Iterable[Trigger]:
    if m.previous is Status.PENDING and not m.status.is_final:
        yield Trigger.POSTED
    trigger = BY_STATUS.get(m.status)
    if trigger is not None:
        yield trigger


def queue_row(
    shipment_id: int,
    trigger: Trigger,
    channel: Channel,
    key: str,
    facts: dict[str, Any],
    now: datetime,
    due: datetime,
    incident_id: int | None,
) -> dict[str, Any]:
    return {
        "dedupe_key": key,
        "shipment_id": shipment_id,
        "incident_id": incident_id,
        "trigger": trigger.value,
        "channel": channel.value,
        "status": NotificationStatus.PENDING.value,
        "facts": facts,
        "created_at": now,
        "due_at": due,
        "attempts": 0,
    }
