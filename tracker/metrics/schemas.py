"""Scorecards as the API shows them (pydantic, for the document and the JSON answer)."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field


class TmrOut(BaseModel):
    mean_hours: float
    p90_hours: int | None = Field(description="Whole hours, rounded up.")


class TrendOut(BaseModel):
    """Each figure's change against the previous period of the same length (grouped by week: against the week
    before); percentage points for the %; null when either has no figure."""

    incidents_per_100: float | None
    on_time_promise_pct: float | None
    on_time_deadline_pct: float | None
    first_attempt_pct: float | None
    transit_p50_days: float | None
    satisfaction: float | None


class ScorecardRow(BaseModel):
    group: dict[str, str | None] = Field(description="The group's values (null: not known, e.g. no origin given).")
    shipments: int = Field(description="Shipments whose ship day falls in the period.")
    delivered: int
    incidents_per_100: float | None
    incidents_per_100_by_kind: dict[str, float]
    on_time_promise_pct: float | None = Field(
        description="Of those judged (reached a first delivery attempt or pickup availability, with a store "
        "promise), the share on or before the store's promised date."
    )
    on_time_deadline_pct: float | None = Field(description="The same, against the carrier's own deadline.")
    first_attempt_pct: float | None = Field(description="Of the delivered, those with no failed attempt before.")
    late: dict[str, int] = Field(description="Judged shipments by calendar days late against the store's promise.")
    transit_p50_days: int | None = Field(description="Business days, posting to delivery.")
    transit_p90_days: int | None
    tmr_mean_hours: float | None = Field(description="Incident resolution time (opened to resolved).")
    tmr_p90_hours: int | None
    tmr_by_kind: dict[str, TmrOut]
    claims_filed: int
    claims_approved: int
    claims_denied: int
    claims_paid: int
    claims_approval_pct: float | None = Field(description="Approved of those the carrier decided (approved, denied).")
    amount_claimed: Decimal
    amount_recovered: Decimal = Field(description="R$ paid by the carrier.")
    notifications_sent: int
    satisfaction: float | None = Field(description="The check-ins' mean rating of the delivery, 1 (bad) to 5 (great).")
    rated: int = Field(description="Check-ins that rated the delivery.")
    previous_shipments: int
    trend: TrendOut


class Period(BaseModel):
    from_: date = Field(alias="from")
    to: date


class Scorecard(BaseModel):
    period: Period
    previous_period: Period
    group_by: list[str]
    rows: list[ScorecardRow]
