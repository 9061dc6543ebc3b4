"""HTTP routes for shipments: find them, one in detail with what every feature knows of it, and a refresh."""

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Select, select

from carriers.base import Status
from tracker.models import Shipment
from tracker.polling import NotRefreshable, refresh_shipment
from tracker.problems import Problem, problem_response
from tracker.shipments.detail import EVENTS, Part, detail_model
from tracker.shipments.schemas import RefreshOut, ShipmentOut, ShipmentPage
from tracker.web import MAX_ID, Principal, ProblemError, Route, fetch_page, needs, responses, runtime

REFRESH_EVERY = timedelta(seconds=60)  # per shipment; a poll on the schedule counts
REFUSED = {  # why a refresh cannot run now: (status, title)
    "not_found": (404, "Shipment not found"),
    "held": (409, "Shipment held: no carrier account"),
    "circuit_open": (503, "Carrier account failing"),
    "too_soon": (429, "Refreshed too recently"),
}


def router(parts: Sequence[Part]) -> APIRouter:
    """The shipment routes; the detail holds the events, then ``parts`` in order."""
    routes = APIRouter(route_class=Route)
    detail = detail_model(parts)

    @routes.get(
        "/v1/shipments", response_model=ShipmentPage, responses=responses(401, 403, 422), summary="Find shipments"
    )
    async def list_shipments(
        request: Request,
        who: Annotated[Principal, needs("read")],
        status: Status | None = None,
        carrier: Annotated[str | None, Query(max_length=32)] = None,
        state: Annotated[str | None, Query(min_length=2, max_length=2, description="Destination UF")] = None,
        shipped_from: date | None = None,
        shipped_to: date | None = None,
        external_id: Annotated[str | None, Query(max_length=100)] = None,
        tracking_code: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=100)] = None,
    ) -> ShipmentPage:
        query: Select[Any] = select(Shipment).order_by(Shipment.id.desc())
        filters = {
            "status": status,
            "carrier": carrier,
            "destination_state": state and state.upper(),
            "external_id": external_id,
            "tracking_code": tracking_code and tracking_code.upper(),
        }
        for column, value in filters.items():
            if value is not None:
                query = query.where(getattr(Shipment, column) == value)
        if shipped_from:
            query = query.where(Shipment.shipped_at >= _start_of(shipped_from))
        if shipped_to:
            query = query.where(Shipment.shipped_at < _start_of(shipped_to, 1))
        async with runtime(request).sessions() as session:
            rows, next_cursor = await fetch_page(
                session, query, key=Shipment.id, limit=limit, cursor=cursor, scalars=True
            )
        return ShipmentPage(shipments=[ShipmentOut.of(r) for r in rows], next_cursor=next_cursor)

    @routes.get("/v1/shipments/{shipment_id}", response_model=detail, responses=responses(401, 403, 404, 422))
    async def get_shipment(
        request: Request, shipment_id: Annotated[int, Path(ge=1, le=MAX_ID)], who: Annotated[Principal, needs("read")]
    ) -> Any:
        async with runtime(request).sessions() as session:
            row = await session.get(Shipment, shipment_id)
            if row is None:
                raise ProblemError(404, "Shipment not found", f"no shipment with id {shipment_id}")
            lists = {part.name: await part.of(session, shipment_id) for part in (EVENTS, *parts)}
            return detail(**ShipmentOut.of(row).model_dump(), **lists)

    @routes.post(
        "/v1/shipments/{shipment_id}/refresh",
        response_model=RefreshOut,
        responses=responses(401, 403, 404, 409, 422, 429, 503),
        summary="Poll a shipment now",
        description=f"Polls the shipment's carrier now, due or not, as a scheduled poll does (the detector judges "
        f"what is new), and answers what changed. At most once per {REFRESH_EVERY.total_seconds():g} s per "
        "shipment (a scheduled poll counts): else `429` with `Retry-After`. A shipment held for want of a carrier "
        "account is a `409`; a carrier account whose circuit is open a `503` with `Retry-After`.",
    )
    async def refresh(
        request: Request, shipment_id: Annotated[int, Path(ge=1, le=MAX_ID)], who: Annotated[Principal, needs("write")]
    ) -> Any:
        try:
            done = await refresh_shipment(runtime(request), shipment_id, every=REFRESH_EVERY)
        except NotRefreshable as exc:
            status, title = REFUSED[exc.why]
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
            return problem_response(Problem(title=title, status=status, detail=str(exc)), headers)
        return RefreshOut.model_validate(asdict(done))

    return routes


def _start_of(day: date, plus_days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=plus_days), time(0), UTC)
