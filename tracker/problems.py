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


def _message(err: Mapping[str, Any], field: str) -> str:
    kind = err.get("type")
    if kind == "missing":
        return f"{field} is required"
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
