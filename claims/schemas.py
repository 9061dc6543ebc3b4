"""Claims in and out of the API (pydantic). Amounts are strings of R$ with two decimals (``"123.45"``), in and
out: money is never a float."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from tracker.text import LINE


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


Amount = Annotated[Decimal, PlainSerializer(_money, return_type=str, when_used="json")]
AmountIn = Annotated[
    str,
    Field(pattern=r"^\d{1,10}(\.\d{1,2})?$", examples=["123.45"], description='R$ as a string, e.g. "123.45"'),
]
Line = Annotated[str, Field(pattern=LINE)]


class ClaimChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


class ClaimFilingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    filer: str
    operation: str
    outcome: str
    protocol: str | None
    code: str | None = Field(description="The carrier's return code.")
    reason: str


class ClaimBrief(BaseModel):
    """A claim as listed on its shipment."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    claim_type: str
    kind: str
    status: str
    amount_claimed: Amount | None
    protocol: str | None
    closes_at: datetime
    filed_at: datetime | None


class ClaimOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shipment_id: int
    incident_id: int | None
    tracking_code: str
    carrier: str
    claim_type: str
    kind: str = Field(description="The incident kind it came from.")
    status: str
    motivo: int
    manifestation: str
    filer: str
    filing: str = Field(description="auto: filed as soon as ready; approval: waits for the store's approval.")
    approved_at: datetime | None
    approved_by: str | None
    opens_at: datetime
    closes_at: datetime
    business_days_left: int | None = Field(description="Until the window closes, for a claim not filed yet.")
    missing: list[str] = Field(description="Evidence still missing before it can be filed.")
    amount_claimed: Amount | None
    amount_rule: str
    amount_approved: Amount | None
    amount_paid: Amount | None
    protocol: str | None
    filed_at: datetime | None
    answer_due_at: datetime | None
    answered_at: datetime | None
    answer_message: str | None
    paid_at: datetime | None
    refusal_code: str | None
    refusal_reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    reactivations: int
    created_at: datetime
    updated_at: datetime


class ClaimDetail(ClaimOut):
    packet_url: str = Field(description="The claim packet (HTML, pt-BR); add ?format=pdf for the PDF.")
    filings: list[ClaimFilingOut]
    changes: list[ClaimChangeOut]


class ClaimPage(BaseModel):
    claims: list[ClaimOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MarkFiled(_Body):
    protocol: Annotated[Line, Field(min_length=1, max_length=64, description="The carrier's protocol number.")]


class RecordAnswer(_Body):
    verdict: Literal["approved", "partially_approved", "denied"]
    amount: AmountIn | None = Field(default=None, description="R$ approved; the amount claimed when left out.")
    message: Annotated[Line, Field(max_length=2000)] = ""


class RecordPayment(_Body):
    amount: AmountIn
    paid_at: AwareDatetime


class Reason(_Body):
    reason: Annotated[Line, Field(min_length=1, max_length=500)]
