"""Incident kinds, statuses, severities, outcomes and root causes: closed lists, one place (DESIGN §3)."""

from enum import StrEnum


class Kind(StrEnum):
    DELAYED = "delayed"
    DELIVERED_LATE = "delivered_late"
    STALLED = "stalled"
    NOT_POSTED = "not_posted"
    FAILED_ATTEMPT = "failed_attempt"
    AWAITING_PICKUP = "awaiting_pickup"
    RETURNING_TO_SENDER = "returning_to_sender"
    REFUSED = "refused"
    ADDRESS_PROBLEM = "address_problem"
    CUSTOMS_HOLD = "customs_hold"
    LOST = "lost"
    STOLEN = "stolen"
    DAMAGED = "damaged"
    NOT_RECEIVED = "not_received"  # the customer says so (delivery check-in)
    DIVERGENCE = "divergence"  # wrong or missing items (delivery check-in)


class IncidentStatus(StrEnum):
    OPEN = "open"
    TRIAGED = "triaged"
    WAITING_CARRIER = "waiting_carrier"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class Outcome(StrEnum):
    RESENT = "resent"
    REFUNDED = "refunded"
    DELIVERED_AFTER_ALL = "delivered_after_all"
    CLAIM_FILED = "claim_filed"
    NO_ACTION = "no_action"


class RootCause(StrEnum):
    CARRIER_DELAY = "carrier_delay"
    CARRIER_LOSS = "carrier_loss"
    CARRIER_THEFT = "carrier_theft"
    CARRIER_DAMAGE = "carrier_damage"
    CARRIER_MISROUTE = "carrier_misroute"
    WRONG_ADDRESS = "wrong_address"
    CUSTOMER_ABSENT = "customer_absent"
    CUSTOMER_REFUSED = "customer_refused"
    CUSTOMS = "customs"
    STORE_DISPATCH = "store_dispatch"  # posted late or never
    STORE_PACKING = "store_packing"  # wrong items, poor packaging
    FORCE_MAJEURE = "force_majeure"  # weather, strike
    FRAUD = "fraud"
    UNKNOWN = "unknown"


# Who may move an incident where: the lifecycle. The detector reopens a resolved incident itself.
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.OPEN: frozenset(IncidentStatus) - {IncidentStatus.OPEN},
    IncidentStatus.TRIAGED: frozenset(IncidentStatus) - {IncidentStatus.OPEN, IncidentStatus.TRIAGED},
    IncidentStatus.WAITING_CARRIER: frozenset(
        {IncidentStatus.TRIAGED, IncidentStatus.WAITING_CUSTOMER, IncidentStatus.RESOLVED}
    ),
    IncidentStatus.WAITING_CUSTOMER: frozenset(
        {IncidentStatus.TRIAGED, IncidentStatus.WAITING_CARRIER, IncidentStatus.RESOLVED}
    ),
    IncidentStatus.RESOLVED: frozenset({IncidentStatus.OPEN}),
}
