"""A person's changes to an incident: the lifecycle open → triaged → waiting → resolved (→ reopened),
each move checked against ``TRANSITIONS`` and written to the audit trail.

The whole change is checked before anything is written: a refused change leaves the incident as it was.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.detector.models import Incident, IncidentChange
from tracker.detector.schemas import IncidentPatch
from tracker.vocabulary import TRANSITIONS, IncidentStatus, Outcome, RootCause

_ACTIONS = {
    IncidentStatus.OPEN: "reopened",
    IncidentStatus.TRIAGED: "triaged",
    IncidentStatus.WAITING_CARRIER: "waiting",
    IncidentStatus.WAITING_CUSTOMER: "waiting",
    IncidentStatus.RESOLVED: "resolved",
}


class LifecycleError(ValueError):
    """A change that cannot be applied; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


async def change(
    session: AsyncSession, incident_id: int, patch: IncidentPatch, *, actor: str, now: datetime
) -> Incident | None:
    """Apply ``patch`` by ``actor`` in the caller's transaction; None when there is no such incident.

    A status equal to the current one is no move. The first move out of ``open`` sets ``triaged_at``: the
    triage SLA is met. Reopening keeps the incident's triage deadline (and ``triaged_at``).
    """
    incident = await session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    if incident is None:
        return None
    current = IncidentStatus(incident.status)
    target = None if patch.status in (None, current) else patch.status
    resolution = _check(current, target, patch)
    log: list[tuple[str, IncidentStatus, str | None]] = []  # (action, status after it, what changed)
    if patch.owner is not None and patch.owner != incident.owner:
        log.append(("assigned", current, f"owner {incident.owner} → {patch.owner}"))
        incident.owner = patch.owner
    if target is not None:
        log.append((_ACTIONS[target], target, f"{current} → {target}"))
        if current is IncidentStatus.OPEN and incident.triaged_at is None:
            incident.triaged_at = now
        if resolution is not None:
            incident.outcome, incident.root_cause = resolution[0].value, resolution[1].value
            incident.resolved_at, incident.resolved_by, incident.resolution_note = now, actor, patch.note
        elif current is IncidentStatus.RESOLVED:
            incident.outcome = incident.root_cause = incident.resolution_note = incident.resolved_by = None
            incident.resolved_at = None
            incident.reopened_count += 1
        incident.status = target.value
    if patch.note and not log:
        log.append(("noted", current, None))
    for i, (action, status, detail) in enumerate(log):
        note = "; ".join(x for x in (detail, patch.note if i == len(log) - 1 else None) if x) or None
        session.add(
            IncidentChange(
                incident_id=incident.id,
                at=now,
                actor=actor,
                action=action,
                from_status=current.value,
                to_status=status.value,
                note=note,
            )
        )
    if log:
        incident.updated_at = now
    return incident


def _check(
    current: IncidentStatus, target: IncidentStatus | None, patch: IncidentPatch
) -> tuple[Outcome, RootCause] | None:
    """Refuse what the lifecycle does not allow; the outcome and root cause when resolving."""
    if target is not None and target not in TRANSITIONS[current]:
        allowed = sorted(s.value for s in TRANSITIONS[current])
        raise LifecycleError("status", f"an incident {current} cannot become {target}; allowed: {allowed}")
    if target is not IncidentStatus.RESOLVED:
        for name in ("outcome", "root_cause"):
            if getattr(patch, name) is not None:
                raise LifecycleError(name, f"{name} is given when resolving: send it with status 'resolved'")
        return None
    if patch.outcome is None:
        raise LifecycleError("outcome", f"resolving needs outcome: one of {[o.value for o in Outcome]}")
    if patch.root_cause is None:
        raise LifecycleError("root_cause", f"resolving needs root_cause: one of {[c.value for c in RootCause]}")
    return patch.outcome, patch.root_cause
