"""Incidents in and out of the API (pydantic)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tracker.vocabulary import IncidentStatus, Outcome, RootCause


class IncidentChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


class IncidentBrief(BaseModel):
    """An incident as listed on its shipment."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: str
    severity: str
    owner: str
    opened_at: datetime
    triage_due_at: datetime
    resolved_at: datetime | None
    outcome: str | None


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shipment_id: int
    tracking_code: str
    carrier: str
    external_id: str | None
    kind: str
    status: str
    severity: str
    owner: str
    next_action: str
    trigger: str = Field(description="The fact that raised it, as the detector's rule saw it.")
    evidence: dict[str, Any]
    opened_at: datetime
    updated_at: datetime
    triage_due_at: datetime
    overdue: bool = Field(description="Still open past its triage deadline (SLA).")
    due_at: datetime | None
    triaged_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    root_cause: str | None
    resolution_note: str | None
    resolved_by: str | None
    reopened_count: int


class IncidentDetail(IncidentOut):
    changes: list[IncidentChangeOut]


class OutageGuard(BaseModel):
    carrier_account: str
    carrier: str
    reason: str
    since: datetime | None


class IncidentPage(BaseModel):
    incidents: list[IncidentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    outage_guards: list[OutageGuard] = Field(
        description="Carrier accounts in an outage now: no silence-based incident is raised for them."
    )


class IncidentPatch(BaseModel):
    """A person's change: triage, wait, assign, resolve (with outcome and root cause) or reopen."""

    model_config = ConfigDict(extra="forbid")

    status: IncidentStatus | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=100)
    outcome: Outcome | None = None
    root_cause: RootCause | None = None
    note: str | None = Field(default=None, max_length=2000)
