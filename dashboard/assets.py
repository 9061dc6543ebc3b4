"""The dashboard's own assets, from the package (no CDN): read once, served with a long cache and their type.
Vendored libraries live in ``static/vendor/`` beside their licences (see its README)."""

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from tracker.problems import ProblemError

router = APIRouter(prefix="/dashboard/static", include_in_schema=False)
TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".js": "text/javascript; charset=utf-8"}
HERE = Path(__file__).parent / "static"


@cache
def _files() -> dict[str, bytes]:
    """``vendor/chart.umd.min.js`` → its bytes: only the files of a served type, under ``static/``."""
    return {p.relative_to(HERE).as_posix(): p.read_bytes() for p in HERE.rglob("*") if p.suffix in TYPES}


@router.get("/{name:path}")
async def asset(name: str) -> Response:
    body = _files().get(name)
    if body is None:
        raise ProblemError(404, "Not found", f"no dashboard asset {name[:60]!r}")
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=TYPES[Path(name).suffix], headers=headers)
