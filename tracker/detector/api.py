"""HTTP routes for incidents: find them (with the outage guards in force), read one with its history,
and move it through its lifecycle."""

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.detector.guard import active_guards
from tracker.detector.lifecycle import LifecycleError, change
from tracker.detector.models import Incident, IncidentChange
from tracker.detector.schemas import (
    IncidentBrief,
    IncidentChangeOut,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentPatch,
    OutageGuard,
)
from tracker.models import Shipment
from tracker.runtime import Runtime
from tracker.shipments import Part
from tracker.vocabulary import IncidentStatus, Kind
from tracker.web import MAX_ID, FieldError, Principal, ProblemError, Route, fetch_page, needs, responses, runtime

router = APIRouter(route_class=Route)
_COLUMNS = (Incident, Shipment.tracking_code, Shipment.carrier, Shipment.external_id)


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
    rt = runtime(request)
    now = rt.clock.now()
    query = incidents_query(
        kind=kind, status=status, carrier=carrier, owner=owner, overdue=overdue, now=now, shipment_id=shipment_id
    )
    async with rt.sessions() as session:
        rows, next_cursor = await fetch_page(
            session, query, key=Incident.id, limit=limit, cursor=cursor, id_of=lambda row: int(row[0].id)
        )
        guards = await active_guards(session, now)
    return IncidentPage(
        incidents=[IncidentOut(**_out(r, now)) for r in rows],
        next_cursor=next_cursor,
        outage_guards=[OutageGuard(**g.as_dict()) for g in guards.values()],
    )


async def _detail(rt: Runtime, session: Any, incident_id: int) -> IncidentDetail:
    row = (await session.execute(select(*_COLUMNS).join(Shipment).where(Incident.id == incident_id))).first()
    if row is None:
        raise ProblemError(404, "Incident not found", f"no incident with id {incident_id}")
    changes = await session.scalars(
        select(IncidentChange).where(IncidentChange.incident_id == incident_id).order_by(IncidentChange.id)
    )
    out = _out(row, rt.clock.now())
    return IncidentDetail(**out, changes=[IncidentChangeOut.model_validate(c) for c in changes])


@router.get("/v1/incidents/{incident_id}", response_model=IncidentDetail, responses=responses(401, 403, 404, 422))
async def get_incident(
    request: Request, incident_id: Annotated[int, Path(ge=1, le=MAX_ID)], who: Annotated[Principal, needs("read")]
) -> IncidentDetail:
    rt = runtime(request)
    async with rt.sessions() as session:
        return await _detail(rt, session, incident_id)


@router.patch(
    "/v1/incidents/{incident_id}",
    response_model=IncidentDetail,
    responses=responses(400, 401, 403, 404, 422),
    summary="Triage, assign, wait, resolve or reopen an incident",
)
async def patch_incident(
    request: Request,
    incident_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    patch: IncidentPatch,
    who: Annotated[Principal, needs("write")],
) -> IncidentDetail:
    rt = runtime(request)
    async with rt.sessions() as session:
        async with session.begin():
            try:
                incident = await change(session, incident_id, patch, actor=who.name, now=rt.clock.now())
            except LifecycleError as exc:
                raise ProblemError(
                    422, "Invalid change", str(exc), [FieldError(field=exc.field, message=str(exc))]
                ) from None
            if incident is None:
                raise ProblemError(404, "Incident not found", f"no incident with id {incident_id}")
        return await _detail(rt, session, incident_id)


async def _incidents(session: AsyncSession, shipment_id: int) -> Iterable[Incident]:
    return await session.scalars(select(Incident).where(Incident.shipment_id == shipment_id).order_by(Incident.id))


INCIDENTS = Part("incidents", IncidentBrief, _incidents)  # the shipment's detail lists its incidents
