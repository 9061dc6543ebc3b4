"""The notifier's closed lists: what triggers a message, through which channel, and where it stands."""

from enum import StrEnum


class Trigger(StrEnum):
    POSTED = "posted"
    OUT_FOR_DELIVERY = "out_for_delivery"
    FAILED_ATTEMPT = "failed_attempt"
    AWAITING_PICKUP = "awaiting_pickup"
    DELAYED = "delayed"
    LOST = "lost"
    STOLEN = "stolen"
    DAMAGED = "damaged"
    CUSTOMS_HOLD = "customs_hold"  # held at customs: when tax is due, the customer must pay it
    RETURNING = "returning"
    DELIVERED = "delivered"
    CHECKIN = "checkin"  # 24–48 h after delivery: "did it arrive well?"
    OPS_INCIDENT = "ops_incident"  # ops alert: an incident opened, reopened or escalated (medium and up)
    OPS_CLAIM = "ops_claim"  # ops alert: a claim's window closing or closed, a refusal, an overdue answer
    OPS_SLA = "ops_sla"  # ops alert: an incident's triage deadline is near, or already past


class Channel(StrEnum):
    EMAIL = "email"
    WHATSAPP = "whatsapp"  # WhatsApp Cloud API template message
    WA_LINK = "wa_link"  # a wa.me link with the text pre-filled, queued for ops to send by hand
    OPS_WEBHOOK = "ops_webhook"  # Slack-compatible JSON, signed (Standard Webhooks)
    OPS_EMAIL = "ops_email"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its due time (quiet hours, check-in delay, retry back-off)
    SENDING = "sending"  # claimed by a dispatcher; recorded before the send
    SENT = "sent"
    QUEUED = "queued"  # wa_link: ready for ops to click and send
    FAILED = "failed"  # permanent error, or retries exhausted
    UNCERTAIN = "uncertain"  # a dispatcher died mid-send on a channel that cannot dedupe: not resent
    SUPPRESSED = "suppressed"  # not sent by policy: opt-out, no consent, daily cap, switched off


WAITING = (NotificationStatus.PENDING.value, NotificationStatus.SENDING.value)  # not sent yet, not given up


class CheckinAnswer(StrEnum):
    ACCEPTED = "accepted"  # entregue e aceito
    WITH_ISSUE = "with_issue"  # entregue com ressalva
    NOT_RECEIVED = "not_received"  # não recebi
