"""The normalized vocabulary every carrier adapter maps onto (DESIGN §3).

One place, one meaning: a raw carrier code becomes a :class:`Status` (where the parcel is) and,
when something went wrong, a :class:`Reason` (who caused it, which decides claim eligibility).
"""

from enum import StrEnum


class Status(StrEnum):
    """Where the parcel is."""

    PENDING = "pending"  # known to us, no carrier event yet
    POSTED = "posted"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_FAILED = "delivery_failed"  # an attempt failed; another may follow
    AWAITING_PICKUP = "awaiting_pickup"  # at an agency or locker
    DELIVERED = "delivered"
    RETURNING = "returning"  # on its way back to the sender
    RETURNED = "returned"
    LOST = "lost"  # extraviado, roubado, não localizado
    HELD = "held"  # customs, fiscal or sender block

    @property
    def is_final(self) -> bool:
        """The parcel's journey is over: no more events are expected in normal operation."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({Status.DELIVERED, Status.RETURNED})


class Reason(StrEnum):
    """What went wrong, grouped by who caused it."""

    CARRIER_LOST = "carrier_lost"
    CARRIER_STOLEN = "carrier_stolen"
    CARRIER_DAMAGED = "carrier_damaged"
    CARRIER_DELAYED = "carrier_delayed"
    CARRIER_MISROUTED = "carrier_misrouted"
    CONSIGNEE_ABSENT = "consignee_absent"
    CONSIGNEE_REFUSED = "consignee_refused"
    CONSIGNEE_MOVED = "consignee_moved"
    CONSIGNEE_UNKNOWN = "consignee_unknown"
    ADDRESS_PROBLEM = "address_problem"
    CUSTOMS_INSPECTION = "customs_inspection"
    CUSTOMS_TAX_DUE = "customs_tax_due"
    CUSTOMS_SEIZED = "customs_seized"
    SENDER_REQUEST = "sender_request"
    INDEMNIFIED = "indemnified"
    OTHER = "other"
