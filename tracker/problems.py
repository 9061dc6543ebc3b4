"""Errors as RFC 9457 problem details: one JSON shape for every error the API returns."""

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from tracker.mask import shown
from tracker.text import LINE, line_problem

MEDIA_TYPE = "application/problem+json"
_WHERE = ("query", "path", "header", "body")  # FastAPI's first ``loc`` item: where the field was


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] = []


class ProblemError(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(title=title, status=status, detail=detail, errors=errors or [])
        self.headers = headers


def field_errors(errors: Iterable[Mapping[str, Any]], whole: str = "(request)") -> list[FieldError]:
    """Pydantic's errors as ``field: message`` pairs that say what is wrong and what is expected, a value shown
    masked when it is a customer's (``tracker.mask``); ``whole`` names the field of an error about the whole."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        field = ".".join(loc[1:] if loc and loc[0] in _WHERE else loc) or whole
        out.append(FieldError(field=field, message=_message(err, field)))
    return out


_DATE = "expected a date as YYYY-MM-DD, e.g. 2026-11-30"
_DATETIME = "expected a date and time with its time zone, e.g. 2026-11-30T14:00:00-03:00 (Z for UTC)"
_WHOLE = "expected a whole number written as a number, e.g. 2"
# pydantic's own words ("invalid character in year", "Input should be greater than or equal to 1") rewritten to
# name the field, the value and what is expected, as our checks do: by error type, ``{ctx}`` from the error
_REWRITTEN = {
    **dict.fromkeys(("date_parsing", "date_from_datetime_parsing", "date_type"), f"is not a date: {_DATE}"),
    "date_from_datetime_inexact": f"has a time of day: {_DATE}",
    **dict.fromkeys(
        ("datetime_parsing", "datetime_from_date_parsing", "datetime_type", "datetime_object_invalid"),
        f"is not a date and time: {_DATETIME}",
    ),
    "timezone_aware": f"has no time zone: {_DATETIME}",
    "greater_than_equal": "is too small: expected {ge} or more",
    "greater_than": "is too small: expected more than {gt}",
    "less_than_equal": "is too large: expected {le} or less",
    "less_than": "is too large: expected less than {lt}",
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), f"is not a whole number: {_WHOLE}"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "is not true or false: expected true or false (JSON booleans)"),
}


def _message(err: Mapping[str, Any], field: str) -> str:
    kind = err.get("type")
    if kind == "missing":
        return f"{field} is required"
    rewritten = _REWRITTEN.get(str(kind))
    if rewritten is not None and "input" in err:
        return f"{field} {shown(field, err['input'])} " + rewritten.format(**err.get("ctx", {}))
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == LINE:
        return line_problem(err["input"]) or str(err["msg"])
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if kind in ("value_error", "assertion_error") or "input" not in err:  # our checks show the value themselves
        return message
    return f"{message}; got {shown(field, err['input'])}"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(mode="json"), status_code=problem.status, media_type=MEDIA_TYPE, headers=headers
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route can give."""
    return {s: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": "Problem details"} for s in statuses}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route of the app takes on the request's path (a path's routes may come from several
    routers: ``GET`` and ``POST /v1/shipments``), for a 405's ``Allow``: each method is tried on a fresh scope."""
    base = {k: request.scope.get(k) for k in ("type", "path", "root_path", "headers")}
    routes = [r for r in request.app.router.routes if isinstance(r, BaseRoute)]
    return ", ".join(m for m in _METHODS if any(r.matches({**base, "method": m})[0] == Match.FULL for r in routes))


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.problem, exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the methods of the first route on the path only
            headers["Allow"] = allowed_methods(request)
        return problem_response(Problem(title=str(exc.detail), status=exc.status_code), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(Problem(title="Invalid request", status=422, errors=field_errors(exc.errors())))

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        return problem_response(Problem(title="Internal error", status=500, detail="the error was logged"))
