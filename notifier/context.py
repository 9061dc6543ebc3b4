"""What a message template sees: the store, the customer's first name, the order, the tracking link, the
facts frozen on the outbox row (dates as dd/mm/aaaa, in the destination's time zone) and the links.

Facts a trigger may or may not have (a new expected date, the pickup agency, what the store will do) are
always present, as ``None`` when unknown, so templates can test them; anything else a template uses and
the context lacks fails the render with its name.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.checkin import LIFETIMES
from notifier.labels import evidence_lines, instant, label
from notifier.vocabulary import Trigger
from tracker.calendar import timezone_of
from tracker.config import Settings
from tracker.detector import incidents_table
from tracker.models import events_table, shipments_table
from tracker.vocabulary import IncidentStatus, Kind

CARRIERS = {"correios": "Correios", "jadlog": "Jadlog", "loggi": "Loggi", "sandbox": "Correios"}
OPTIONAL = (
    *("expected_date", "new_expected_date", "promised_date", "pickup_deadline", "pickup_address", "remedy"),
    *("kind", "kind_label", "severity", "severity_label", "action", "owner", "triage_due_at", "event_description"),
    *("status", "attempts", "next_action", "incident_id", "status_reason", "customs_pay_by"),
    *("claim_id", "claim_type", "event", "business_days_left", "code", "reason", "protocol", "closes_on"),
    *("answer_due_on", "amount"),  # a claim's alert
)
CUSTOMS_PAYMENT_DAYS = 30  # Correios: pay within 30 calendar days of the Receita Federal's release
TAX_DUE = "customs_tax_due"


def message_context(
    shipment: Mapping[str, Any], facts: Mapping[str, Any], *, settings: Settings, links: Mapping[str, str]
) -> dict[str, Any]:
    code = str(shipment["tracking_code"])
    name = (shipment.get("customer_name") or "").split()
    uf = shipment.get("destination_state")
    evidence: dict[str, Any] = dict(facts.get("evidence") or {})
    raw_event = evidence.get("event")
    event: dict[str, Any] = raw_event if isinstance(raw_event, dict) else {}
    context: dict[str, Any] = dict.fromkeys(OPTIONAL) | {
        "store_name": settings.store_name,
        "customer_first_name": name[0] if name else "cliente",
        "order_number": shipment.get("order_number") or shipment.get("external_id") or code,
        "tracking_code": code,
        "tracking_link": settings.tracking_url.replace("{code}", quote(code, safe="")),
        "carrier": CARRIERS.get(str(shipment.get("carrier")), str(shipment.get("carrier") or "").title()),
        "reminder": False,
        "checkin_valid_days": LIFETIMES["checkin"].days,  # what the check-in's links say of themselves
    }
    context |= dict(facts)
    context |= {
        "evidence": evidence,
        "evidence_lines": evidence_lines(evidence, photo_url=_api_url(settings, facts.get("incident_id"), "/photo")),
        "from_checkin": evidence.get("source") == "checkin",
        "event_description": context["event_description"] or event.get("description"),
        "attempts": context["attempts"] or evidence.get("occurrences"),
        "kind_label": label("kinds", context["kind"]),
        "severity_label": label("severities", context["severity"]),
        "owner_label": label("owners", context["owner"]),
        "overdue": bool(context.get("overdue")),
        "incident_url": _api_url(settings, facts.get("incident_id")),
        "claim_url": _api_url(settings, facts.get("claim_id"), kind="claims"),
    }
    expected = _day(facts.get("expected_date"), uf)
    promised = _day(facts.get("promised_date") or evidence.get("promised_date"), uf)
    deadline = facts.get("pickup_deadline") or evidence.get("pickup_deadline") or shipment.get("pickup_deadline")
    context |= {
        "expected_date": _ddmmyyyy(expected),
        "promised_date": _ddmmyyyy(promised),
        # a delay's new date: only one later than the promise that was missed
        "new_expected_date": _ddmmyyyy(expected) if expected and (promised is None or expected > promised) else None,
        "pickup_deadline": _ddmmyyyy(_day(deadline, uf)),
        "pickup_address": facts.get("pickup_address") or evidence.get("pickup_address") or event.get("location"),
        "triage_due_at": instant(facts.get("triage_due_at")),  # for ops: Brasília time, saying so
        "triage_due_short": instant(facts.get("triage_due_at"), zone=False),
    }
    # customs: tax due (frozen when the incident was raised, else the parcel's status now), and its deadline
    reason = facts.get("status_reason") or shipment.get("status_reason")
    context["tax_due"] = reason == TAX_DUE
    held_on = _day(event.get("at"), uf)
    if context["tax_due"] and held_on and not context["customs_pay_by"]:
        context["customs_pay_by"] = _ddmmyyyy(held_on + timedelta(days=CUSTOMS_PAYMENT_DAYS))
    return context | dict(links)


def _api_url(settings: Settings, row_id: Any, tail: str = "", *, kind: str = "incidents") -> str | None:
    """Where ops read (or triage, with PATCH) an incident, or see its check-in photo (``/photo``); or a claim."""
    if not row_id:
        return None
    return f"{settings.public_base_url.rstrip('/')}/v1/{kind}/{row_id}{tail}"


def _day(value: Any, uf: str | None) -> date | None:
    """A date from a date, a datetime or their ISO text; instants as the destination's local day."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone_of(uf)).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    raise ValueError(f"expected a date or an ISO date text, got {type(value).__name__}")


def _ddmmyyyy(day: date | None) -> str | None:
    return day.strftime("%d/%m/%Y") if day else None


KIND_OF = {t: Kind(t.value) for t in Trigger if t.value in {k.value for k in Kind}}
KIND_OF[Trigger.RETURNING] = Kind.RETURNING_TO_SENDER
OPS = frozenset({Trigger.OPS_INCIDENT, Trigger.OPS_SLA, Trigger.OPS_CLAIM})


async def preview_facts(
    session: AsyncSession, shipment_id: int, trigger: Trigger, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A shipment's row and plausible facts for ``trigger`` (``zelo notify preview``): its current promise
    date, its pickup deadline and agency, its latest open incident of the trigger's kind (any kind for ops)."""
    s, i, e = shipments_table.c, incidents_table.c, events_table.c
    found = (await session.execute(select(shipments_table).where(s.id == shipment_id))).first()
    if found is None:
        raise LookupError(f"no shipment with id {shipment_id}")
    row = dict(found._mapping)
    promise, original = row["promise_date"], row["original_promise_date"]
    facts: dict[str, Any] = {"status": row["status"], "expected_date": promise.isoformat() if promise else None}
    kind = KIND_OF.get(trigger)
    if kind is None and trigger not in OPS:
        return row, facts
    query = select(incidents_table).where(i.shipment_id == shipment_id, i.status != IncidentStatus.RESOLVED.value)
    query = query.where(i.kind == kind.value) if kind else query
    incident = (await session.execute(query.order_by(i.opened_at.desc(), i.id.desc()).limit(1))).first()
    if incident is not None:
        keep = ("kind", "severity", "owner", "next_action", "evidence", "triage_due_at")
        facts |= {k: incident._mapping[k] for k in keep} | {"action": "opened", "incident_id": incident.id}
    else:  # what such an incident would say
        facts |= {"kind": (kind or Kind.DELAYED).value, "severity": "medium", "owner": "customer_care"}
        facts |= {"evidence": {"promised_date": original.isoformat()} if original else {}, "action": "opened"}
        facts["triage_due_at"] = now + timedelta(hours=1)
    if trigger is Trigger.AWAITING_PICKUP:
        where = (e.shipment_id == shipment_id, e.status == "awaiting_pickup", e.voided.is_(False))
        query = select(e.location, e.pickup_deadline).where(*where).order_by(e.occurred_at.desc()).limit(1)
        event = (await session.execute(query)).first()
        if event is not None:
            facts |= {
                "pickup_address": event.location,
                "pickup_deadline": event.pickup_deadline or row["pickup_deadline"],
            }
    return row, facts
