"""HTTP routes for incidents: find them (with the outage guards in force), read one with its history,
and move it through its lifecycle."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Select, select

from tracker.detector.guard import active_guards
from tracker.detector.lifecycle import LifecycleError, change
from tracker.detector.models import Incident, IncidentChange
from tracker.detector.schemas import (
    IncidentChangeOut,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    OutageGuard,
)
from tracker.detector.vocabulary import IncidentStatus, Kind
from tracker.ingest.api import MAX_ID, decode_cursor, encode_cursor, needs
from tracker.ingest.apikeys import Principal
from tracker.ingest.schemas import FieldError
from tracker.models import Shipment
from tracker.problems import ProblemError, responses
from tracker.runtime import Runtime

router = APIRouter()
_COLUMNS = (Incident, Shipment.tracking_code, Shipment.carrier, Shipment.external_id)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.ingest.runtime
    return runtime


def _out(row: Any, now: datetime) -> dict[str, Any]:
    incident: Incident = row[0]
    fields = {c.key: getattr(incident, c.key) for c in Incident.__table__.columns}
    overdue = incident.status == IncidentStatus.OPEN and incident.triage_due_at < now
    return fields | {"tracking_code": row[1], "carrier": row[2], "external_id": row[3], "overdue": overdue}


def incidents_query(
    *,
    kind: Kind | None,
    status: IncidentStatus | None,
    carrier: str | None,
    owner: str | None,
    overdue: bool,
    now: datetime,
    shipment_id: int | None = None,
) -> Select[Any]:
    query: Select[Any] = select(*_COLUMNS).join(Shipment, Shipment.id == Incident.shipment_id)  # type: ignore[assignment]
    query = query.order_by(Incident.id.desc())
    for column, value in ((Incident.kind, kind), (Incident.status, status), (Shipment.carrier, carrier)):
        if value is not None:
            query = query.where(column == value)
    if owner is not None:
        query = query.where(Incident.owner == owner)
    if shipment_id is not None:
        query = query.where(Incident.shipment_id == shipment_id)
    if overdue:
        query = query.where(Incident.status == IncidentStatus.OPEN.value, Incident.triage_due_at < now)
    return query


@router.get("/v1/incidents", response_model=IncidentPage, responses=responses(401, 403, 422), summary="Find incidents")
async def list_incidents(
    request: Request,
    who: Annotated[Principal, needs("read")],
    kind: Kind | None = None,
    status: IncidentStatus | None = None,
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    overdue: Annotated[bool, Query(description="Only open incidents past their triage deadline")] = False,
    shipment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> IncidentPage:
    runtime = _runtime(request)
    now = runtime.clock.now()
    query = incidents_query(
        kind=kind, status=status, carrier=carrier, owner=owner, overdue=overdue, now=now, shipment_id=shipment_id
    )
    if cursor:
        query = query.where(Incident.id < decode_cursor(cursor))
    async with runtime.sessions() as session:
        rows = (await session.execute(query.limit(limit + 1))).all()
        guards = await active_guards(session, now)
    more, rows = len(rows) > limit, rows[:limit]
    next_cursor = encode_cursor(rows[-1][0].id) if more and rows else None
    return IncidentPage(
        incidents=[IncidentOut(**_out(r, now)) for r in rows],
        next_cursor=next_cursor,
        outage_guards=[OutageGuard(**g.as_dict()) for g in guards.values()],
    )


async def _detail(runtime: Runtime, session: Any, incident_id: int) -> IncidentDetail:
    row = (await session.execute(select(*_COLUMNS).join(Shipment).where(Incident.id == incident_id))).first()
    if row is None:
        raise ProblemError(404, "Incident not found", f"no incident with id {incident_id}")
    changes = await session.scalars(
        select(IncidentChange).where(IncidentChange.incident_id == incident_id).order_by(IncidentChange.id)
    )
    out = _out(row, runtime.clock.now())
    return IncidentDetail(**out, changes=[IncidentChangeOut.model_validate(c) for c in changes])


@router.get("/v1/incidents/{incident_id}", response_model=IncidentDetail, responses=responses(401, 403, 404, 422))
async def get_incident(
    request: Request, incident_id: Annotated[int, Path(ge=1, le=MAX_ID)], who: Annotated[Principal, needs("read")]
) -> IncidentDetail:
    runtime = _runtime(request)
    async with runtime.sessions() as session:
        return await _detail(runtime, session, incident_id)


@router.patch(
    "/v1/incidents/{incident_id}",
    response_model=IncidentDetail,
    responses=responses(401, 403, 404, 422),
    summary="Triage, assign, wait, resolve or reopen an incident",
)
async def patch_incident(
    request: Request,
    incident_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    patch: IncidentPatch,
    who: Annotated[Principal, needs("write")],
) -> IncidentDetail:
    runtime = _runtime(request)
    async with runtime.sessions() as session:
        async with session.begin():
            try:
                incident = await change(session, incident_id, patch, actor=who.name, now=runtime.clock.now())
            except LifecycleError as exc:
                raise ProblemError(
                    422, "Invalid change", str(exc), [FieldError(field=exc.field, message=str(exc))]
                ) from None
            if incident is None:
                raise ProblemError(404, "Incident not found", f"no incident with id {incident_id}")
        return await _detail(runtime, session, incident_id)
