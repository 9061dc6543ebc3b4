"""The alert queue: open incidents, most urgent triage deadline first (triage, assign, resolve from the page),
the click-to-send WhatsApp queue (open the wa.me link, mark it sent) and the claims whose windows close soonest.
Each list is one indexed query, a page at a time."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import Select, select, tuple_

from claims import NOT_FILED, Claim
from dashboard.labels import choices, label
from dashboard.users import Role
from dashboard.web import Current, PageRoute, back, local, page, read_form, require
from notifier import Notification, NotQueued, mark_link_sent
from tracker.detector import Incident, IncidentPatch, LifecycleError, change
from tracker.models import Shipment
from tracker.problems import ProblemError
from tracker.vocabulary import IncidentStatus, Severity
from tracker.web import MAX_ID, runtime

router = APIRouter(prefix="/dashboard", route_class=PageRoute, include_in_schema=False)
PAGE = 25
WA_PREFIX = "https://wa.me/"
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    """The page's cursor: ``<triage due, ISO>~<incident id>`` of the last row shown."""
    if not cursor:
        return None
    due, _, last = cursor.partition("~")
    try:
        return datetime.fromisoformat(due), int(last)
    except ValueError:
        raise ProblemError(422, "Página inválida", "use os links de página da própria lista") from None


def incidents_query(severity: Severity | None, after: tuple[datetime, int] | None) -> Select[Any]:
    query: Select[Any] = (
        select(Incident, Shipment.tracking_code, Shipment.order_number)  # type: ignore[assignment]
        .join(Shipment, Shipment.id == Incident.shipment_id)
        .where(Incident.status != IncidentStatus.RESOLVED.value)  # ix_incidents_open_due's condition
        .order_by(Incident.triage_due_at, Incident.id)
    )
    if severity is not None:
        query = query.where(Incident.severity == severity.value)
    if after is not None:
        query = query.where(tuple_(Incident.triage_due_at, Incident.id) > tuple_(*after))
    return query.limit(PAGE + 1)


def queue_query() -> Select[Any]:
    """The wa.me messages waiting for a person, oldest first."""
    query: Select[Any] = (
        select(Notification, Shipment.tracking_code)  # type: ignore[assignment]
        .join(Shipment, Shipment.id == Notification.shipment_id)
        .where(Notification.channel == "wa_link", Notification.status == "queued")
        .order_by(Notification.id)
    )
    return query.limit(PAGE)


@router.get("")
async def alerts(
    request: Request,
    who: Current,
    severity: Severity | None = None,
    cursor: Annotated[str | None, Query(max_length=80)] = None,
    note: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    rt = runtime(request)
    async with rt.sessions() as session:
        rows = list((await session.execute(incidents_query(severity, _after(cursor)))).all())
        queue = list(await session.execute(queue_query()))
        closing = list(
            await session.execute(
                select(Claim, Shipment.tracking_code)
                .join(Shipment, Shipment.id == Claim.shipment_id)
                .where(Claim.status.in_([s.value for s in NOT_FILED]))
                .order_by(Claim.closes_at)
                .limit(5)
            )
        )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    rank = {s.value: i for i, s in enumerate(reversed(Severity))}
    grouped: dict[str, list[Any]] = {}
    for row in sorted(rows, key=lambda r: rank.get(r[0].severity, 9)):
        grouped.setdefault(row[0].severity, []).append(row)
    last = rows[-1][0] if more and rows else None
    next_cursor = f"{last.triage_due_at.isoformat()}~{last.id}" if last is not None else None
    links = [(n, code) for n, code in queue if (n.link or "").startswith(WA_PREFIX)]
    return page(
        request,
        "alerts",
        who,
        grouped=grouped,
        severity=severity.value if severity else None,
        severities=choices("severities"),
        next_cursor=next_cursor,
        queue=links,
        closing=closing,
        outcomes=choices("outcomes"),
        root_causes=choices("root_causes"),
        label=label,
        note=note,
        can_act=who.role.can(Role.OPS),
    )


def _patch(form: dict[str, str]) -> IncidentPatch:
    action = form.get("action")
    fields: dict[str, Any] = {"note": form.get("note") or None}
    if action == "triage":
        fields["status"] = IncidentStatus.TRIAGED
    elif action == "assign":
        fields["owner"] = form.get("owner", "").strip()
    elif action == "resolve":
        fields |= {
            "status": IncidentStatus.RESOLVED,
            "outcome": form.get("outcome"),
            "root_cause": form.get("root_cause"),
        }
    else:
        raise ProblemError(422, "Ação desconhecida", "escolha triar, atribuir ou resolver")
    try:
        return IncidentPatch(**fields)
    except ValidationError as exc:
        names = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise ProblemError(422, "Mudança inválida", f"confira: {names}") from None


@router.post("/incidents/{incident_id}")
async def move_incident(request: Request, incident_id: Id, who: Current) -> Response:
    """The same change as ``PATCH /v1/incidents/{id}``, by the signed-in person."""
    require(who, Role.OPS)
    form = await read_form(request, who.csrf)
    patch = _patch(form)
    rt = runtime(request)
    async with rt.sessions() as session, session.begin():
        try:
            incident = await change(session, incident_id, patch, actor=who.email, now=rt.clock.now())
        except LifecycleError as exc:
            raise ProblemError(422, "Mudança recusada", str(exc)) from None
        if incident is None:
            raise ProblemError(404, "Ocorrência não encontrada", f"não há ocorrência {incident_id}")
    return back(local(form.get("back")), "Ocorrência atualizada.")


@router.post("/whatsapp/{notification_id}/sent")
async def mark_sent(request: Request, notification_id: Id, who: Current) -> Response:
    require(who, Role.OPS)
    await read_form(request, who.csrf)
    rt = runtime(request)
    async with rt.sessions() as session, session.begin():
        try:
            await mark_link_sent(session, notification_id, actor=who.email, now=rt.clock.now())
        except NotQueued as exc:
            raise ProblemError(409, "Mensagem fora da fila", str(exc)) from None
        except LookupError:
            raise ProblemError(404, "Mensagem não encontrada", f"não há mensagem {notification_id}") from None
    return back("/dashboard", "Mensagem marcada como enviada.")
