"""Errors as RFC 9457 problem details: one JSON shape for every error the API returns."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"


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
        self, status: int, title: str, detail: str | None = None, errors: list[FieldError] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(title=title, status=status, detail=detail, errors=errors or [])


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(mode="json"), status_code=problem.status, media_type=MEDIA_TYPE, headers=headers
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route can give."""
    return {s: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": "Problem details"} for s in statuses}


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.problem)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return problem_response(Problem(title=str(exc.detail), status=exc.status_code), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            field = ".".join(loc[1:] if loc and loc[0] in ("query", "path", "header", "body") else loc)
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            if "input" in err and err.get("type") != "missing":
                message = f"{message}; got {err['input']!r}"
            errors.append(FieldError(field=field or "(request)", message=message))
        return problem_response(Problem(title="Invalid request", status=422, errors=errors))

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        return problem_response(Problem(title="Internal error", status=500, detail="the error was logged"))
