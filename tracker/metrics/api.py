"""``GET /v1/scorecards``: carriers compared over a period, from the rollups, as JSON or CSV."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from tracker.metrics import params
from tracker.metrics.schemas import Scorecard
from tracker.metrics.scorecard import GROUPS, scorecard
from tracker.metrics.table import to_csv
from tracker.web import Principal, ProblemError, Route, needs, responses, runtime

router = APIRouter(route_class=Route)
CSV = "text/csv"


def answer(q: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    before = q.previous()
    return {
        "period": {"from": q.first.isoformat(), "to": q.last.isoformat()},
        "previous_period": {"from": before.first.isoformat(), "to": before.last.isoformat()},
        "group_by": list(q.group_by),
        "rows": rows,
    }


@router.get(
    "/v1/scorecards",
    response_model=Scorecard,
    responses=responses(401, 403, 422) | {200: {"content": {CSV: {"schema": {"type": "string"}}}}},
    summary="Carrier scorecards for a period, by carrier, service, route, state, category or week",
    description="Shipments count on their ship day (Brasília time); on-time is judged at the first delivery attempt "
    "or pickup availability. `Accept: text/csv` or `format=csv` gives the same table as CSV.",
)
async def get_scorecards(
    request: Request,
    who: Annotated[Principal, needs("read")],
    first: Annotated[
        str | None, Query(alias="from", max_length=40, description="YYYY-MM-DD; default: to − 29 days")
    ] = None,
    last: Annotated[str | None, Query(alias="to", max_length=40, description="YYYY-MM-DD; default: today")] = None,
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    service: Annotated[str | None, Query(max_length=50)] = None,
    origin_state: Annotated[str | None, Query(max_length=2)] = None,
    destination_state: Annotated[str | None, Query(max_length=2)] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    group_by: Annotated[
        str | None, Query(max_length=100, description=f"Up to three of {', '.join(GROUPS)}, comma-separated")
    ] = None,
    format: Annotated[
        str | None, Query(pattern="^(json|csv)$", description="csv: the same as Accept: text/csv")
    ] = None,
) -> Response:
    rt = runtime(request)
    try:
        q = params.query(
            first, last, today=params.today(rt.clock.now()), group_by=group_by, carrier=carrier, service=service,
            origin_state=origin_state, destination_state=destination_state, category=category,
        )  # fmt: skip
    except params.BadRequest as exc:
        raise ProblemError(422, "Invalid request", str(exc), exc.errors) from None
    async with rt.sessions() as session:
        rows = await scorecard(session, q)
    wants_csv = format == "csv" or (format is None and CSV in request.headers.get("accept", ""))
    if wants_csv:
        name = f"scorecard-{q.first}-{q.last}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(to_csv(list(q.columns), rows), media_type=f"{CSV}; charset=utf-8", headers=headers)
    return JSONResponse(Scorecard.model_validate(answer(q, rows)).model_dump(mode="json", by_alias=True))
