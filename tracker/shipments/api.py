"""HTTP routes to read shipments: find them, and one in detail with what every feature knows of it."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Select, select

from carriers.base import Status
from tracker.models import Shipment
from tracker.shipments.detail import EVENTS, Part, detail_model
from tracker.shipments.schemas import ShipmentOut, ShipmentPage
from tracker.web import MAX_ID, Principal, ProblemError, Route, fetch_page, needs, responses, runtime


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

    return routes


def _start_of(day: date, plus_days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=plus_days), time(0), UTC)
