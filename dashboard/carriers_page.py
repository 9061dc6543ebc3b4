"""Transportadoras: the carriers' scorecards side by side for any period (default the last 30 days) with the
trend against the period before, the same table as CSV, weekly trend charts of incidents per 100 shipments and
on-time %, and the carrier × destination UF heat map. Read from the rollups only (tracker.metrics): two scorecard
reads (the period and the one before) and one of the period by carrier × destination UF × day, whatever the
number of shipments. Any signed-in role may read it."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from dashboard.carrier_views import MIN_JUDGED, heat_map, legend, side_by_side, trend_charts
from dashboard.labels import choices, label
from dashboard.web import HEADERS, Current, PageRoute, page
from tracker import metrics  # its scorecard() (the name of its module too)
from tracker.calendar import UFS
from tracker.metrics import BadRequest, checked_query, tallies, to_csv, today
from tracker.metrics import Query as Period
from tracker.problems import FieldError, ProblemError
from tracker.web import runtime

router = APIRouter(prefix="/dashboard", route_class=PageRoute, include_in_schema=False)
MAP = ("carrier", "destination_state", "week")  # the charts' and the heat map's one read, merged after
SHORTCUTS = (7, 30, 90)  # days


@dataclass(frozen=True)
class Asked:
    """The period and filters as given (an empty form field: not given)."""

    first: str | None
    last: str | None
    service: str | None
    origin_state: str | None
    destination_state: str | None
    category: str | None

    def given(self) -> dict[str, str]:
        names = ("from", "to", "service", "origin_state", "destination_state", "category")
        values = (self.first, self.last, self.service, self.origin_state, self.destination_state, self.category)
        return {n: v for n, v in zip(names, values, strict=True) if v is not None}


def _asked(
    first: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    service: Annotated[str | None, Query(max_length=50)] = None,
    origin_state: Annotated[str | None, Query(max_length=2)] = None,
    destination_state: Annotated[str | None, Query(max_length=2)] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
) -> Asked:
    values = (first, last, service, origin_state, destination_state, category)
    return Asked(*(v if v else None for v in values))


Filters = Annotated[Asked, Depends(_asked)]


def _period(request: Request, asked: Asked) -> Period:
    return checked_query(
        asked.first, asked.last, today=today(runtime(request).clock.now()), service=asked.service,
        origin_state=asked.origin_state, destination_state=asked.destination_state, category=asked.category,
    )  # fmt: skip


def _link(q: Period) -> str:
    return urlencode({"from": q.first.isoformat(), "to": q.last.isoformat()} | q.filters)


def _span(q: Period) -> str:
    return f"{q.first:%d/%m/%Y} a {q.last:%d/%m/%Y}"


def _page(request: Request, who: Any, asked: Asked, status: int = 200, **context: Any) -> Response:
    now = today(runtime(request).clock.now())
    base = {
        "form": asked.given(),
        "ufs": sorted(UFS),
        "shortcuts": [(d, (now - timedelta(days=d - 1)).isoformat(), now.isoformat()) for d in SHORTCUTS],
        "label": label,
        "filter_names": dict(choices("carrier_filters")),
        "errors": [],
        "q": None,
    }
    return page(request, "carriers", who, status, **(base | context))


@router.get("/carriers")
async def carriers_page(request: Request, who: Current, asked: Filters) -> Response:
    try:
        q = _period(request, asked)
    except BadRequest as exc:
        return _page(request, who, asked, 422, errors=exc.errors)
    rt = runtime(request)
    async with rt.sessions() as session:
        rows = await metrics.scorecard(session, q)
        found = await tallies(session, Period(q.first, q.last, MAP, q.filters), histograms=False) if rows else {}
    carriers = [str(r["group"]["carrier"]) for r in rows]
    columns = Period(q.first, q.last, MAP).columns
    return _page(
        request,
        who,
        asked,
        q=q,
        span=_span(q),
        before=_span(q.previous()),
        carriers=carriers,
        lines=side_by_side(rows, _span(q.previous())),
        charts=trend_charts(found, columns, carriers, q.first, q.last),
        heat=heat_map(found, columns, carriers),
        legend=legend(),
        min_judged=MIN_JUDGED,
        csv_link=f"/dashboard/carriers.csv?{_link(q)}",
    )


@router.get("/carriers.csv")
async def carriers_csv(request: Request, who: Current, asked: Filters) -> Response:
    """The page's table as ``GET /v1/scorecards?format=csv`` gives it (formulas defused), by the session."""
    try:
        q = _period(request, asked)
    except BadRequest as exc:
        raise ProblemError(422, "Pedido inválido", _problem(exc.errors)) from None
    async with runtime(request).sessions() as session:
        rows = await metrics.scorecard(session, q)
    headers = HEADERS | {"Content-Disposition": f'attachment; filename="transportadoras-{q.first}-{q.last}.csv"'}
    return Response(to_csv(list(q.columns), rows), media_type="text/csv; charset=utf-8", headers=headers)


def _problem(errors: list[FieldError]) -> str:
    names = dict(choices("carrier_filters"))
    return "; ".join(f"{names.get(e.field, e.field)} ({e.field}): {e.message}" for e in errors)
