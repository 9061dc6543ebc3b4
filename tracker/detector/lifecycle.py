"""A person's changes to an incident: the lifecycle open → triaged → waiting → resolved (→ reopened),
each move checked against ``TRANSITIONS`` and written to the audit trail."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.detector.models import Incident, IncidentChange
from tracker.detector.schemas import IncidentPatch
from tracker.detector.vocabulary import TRANSITIONS, IncidentStatus, Outcome, RootCause


class LifecycleError(ValueError):
    """A change that cannot be applied; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


async def change(
    session: AsyncSession, incident_id: int, patch: IncidentPatch, *, actor: str, now: datetime
) -> Incident | None:
    """Apply ``patch``; None when there is no such incident."""
    incident = (await session.execute(select(Incident).where(Incident.id == incident_id).with_for_update())).scalar()
    if incident is None:
        return None
    current = IncidentStatus(incident.status)
    log: list[tuple[str, str | None]] = []
    if patch.owner is not None and patch.owner != incident.owner:
        log.append(("assigned", f"owner {incident.owner} → {patch.owner}"))
        incident.owner = patch.owner
    target = patch.status
    if target is not None and target != current:
        allowed = sorted(s.value for s in TRANSITIONS[current])
        if target not in TRANSITIONS[current]:
            raise LifecycleError(
                "status", f"an incident {current.value} cannot become {target.value}; allowed: {allowed}"
            )
        log.append(_move(incident, current, target, patch, now))
        if target is IncidentStatus.RESOLVED:
            incident.resolved_by = actor
    elif target is None and (patch.outcome or patch.root_cause):
        raise LifecycleError("status", "outcome and root_cause go with status 'resolved'")
    if patch.note and not log:
        log.append(("noted", None))
    for action, detail in log:
        note = "; ".join(x for x in (detail, patch.note) if x) or None
        session.add(
            IncidentChange(
                incident_id=incident.id,
                at=now,
                actor=actor,
                action=action,
                from_status=current.value,
                to_status=incident.status,
                note=note,
            )
        )
    if log:
        incident.updated_at = now
    return incident


def _move(
    incident: Incident, current: IncidentStatus, target: IncidentStatus, patch: IncidentPatch, now: datetime
) -> tuple[str, str | None]:
    if target is IncidentStatus.RESOLVED:
        for name, value, choices in (("outcome", patch.outcome, Outcome), ("root_cause", patch.root_cause, RootCause)):
            if value is None:
                raise LifecycleError(name, f"resolving needs {name}: one of {[c.value for c in choices]}")
        fields: dict[str, Any] = {
            "resolved_at": now,
            "outcome": patch.outcome and patch.outcome.value,
            "root_cause": patch.root_cause and patch.root_cause.value,
            "resolution_note": patch.note,
        }
    elif current is IncidentStatus.RESOLVED:  # reopened by a person
        fields = {"resolved_at": None, "outcome": None, "root_cause": None, "resolution_note": None}
        fields |= {"resolved_by": None, "reopened_count": incident.reopened_count + 1}
    else:
        fields = {"triaged_at": incident.triaged_at or now}
    for name, value in fields.items():
        setattr(incident, name, value)
    incident.status = target.value
    action = {IncidentStatus.RESOLVED: "resolved", IncidentStatus.OPEN: "reopened", IncidentStatus.TRIAGED: "triaged"}
    return action.get(target, "waiting"), f"{current.value} → {target.value}"
