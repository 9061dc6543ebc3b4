"""A claim assessed against its parcel now: its window, its amount and the evidence still missing.

Pure: it takes the shipment's facts and the policy and returns what the claim row should say. The service
calls it when a claim is created and on every change of the parcel (and the deadline watch, when time alone
moves a claim from too early to ready, or from ready to expired).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from claims.amounts import Amount, amount
from claims.policy import Claimable, Policy
from claims.vocabulary import ClaimType
from claims.windows import ParcelDates, Window, lateness, window
from tracker.calendar import BusinessCalendar

AWAITING_DELIVERY = "delivery"  # what a delay claim waits for: the delivery or its first attempt


@dataclass(frozen=True, slots=True)
class ParcelFacts:
    dates: ParcelDates
    service: str | None
    postage: Decimal | None  # the shipping cost the store paid
    declared: Decimal | None
    addressee: str | None
    invoice_key: str | None


@dataclass(frozen=True, slots=True)
class Assessment:
    window: Window
    amount: Amount
    missing: list[str]  # evidence to complete before filing (field names)
    on_time: bool  # a delay claim on a parcel whose first attempt was on time (Correios 530): not claimable


def assess(
    facts: ParcelFacts, claimable: Claimable, policy: Policy, calendar: BusinessCalendar, now: datetime
) -> Assessment:
    claim = claimable.claim
    late = lateness(facts.dates, policy, calendar, now) if claim is ClaimType.REFUND else None
    missing = []
    if not facts.addressee:
        missing.append("customer_name")  # the carrier's form asks for the addressee (Correios 301)
    if claim is ClaimType.REFUND and facts.postage is None:
        missing.append("shipping_cost")
    if claim is ClaimType.REFUND and facts.dates.expected is None:
        missing.append("promised_delivery_date")
    if claim is ClaimType.REFUND and facts.dates.first_attempt_at is None:
        missing.append(AWAITING_DELIVERY)  # a delay is claimed once delivered or attempted (Correios 531)
    if claim is ClaimType.INDEMNITY and policy.refund_postage_with_indemnity and facts.postage is None:
        missing.append("shipping_cost")
    return Assessment(
        window=window(facts.dates, claim, claimable.motivo, policy, calendar),
        amount=amount(claim, policy, late=late, postage=facts.postage, declared=facts.declared),
        missing=missing,
        on_time=claim is ClaimType.REFUND and late == 0 and facts.dates.first_attempt_at is not None,
    )
