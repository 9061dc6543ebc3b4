"""What every dashboard page shares: the templates (autoescaped), the signed-in person (before anything else
is read), the bounded form with its CSRF token, the session cookie, and the times shown in the store's zone."""

from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dashboard.users import Role, Signed, same_token, signed_in
from tracker.problems import ProblemError
from tracker.runtime import Runtime
from tracker.web import read_body, runtime

COOKIE = "zelo_session"
LOGIN_CSRF_COOKIE = "zelo_login_csrf"
MAX_FORM = 16 * 1024  # the largest form (a resolution note of 2,000 characters) fits many times
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
HERE = Path(__file__).parent
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class LoginNeeded(Exception):
    """No session (or an expired one): the page sends the browser to the login page."""


def when(moment: datetime | None, zone: str) -> str:
    return "—" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime("%d/%m/%Y %H:%M")


def money(amount: Decimal | None) -> str:
    """``Decimal("1234.5")`` → ``R$ 1.234,50``."""
    if amount is None:
        return "—"
    return "R$ " + f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def countdown(due: datetime | None, now: datetime) -> str:
    """``vence em 3 h 20 min`` or ``atrasado há 2 d 4 h``."""
    if due is None:
        return "—"
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    span = f"{days} d {hours} h" if days else f"{hours} h {mins} min" if hours else f"{mins} min"
    return f"vence em {span}" if seconds >= 0 else f"atrasado há {span}"


def page(request: Request, name: str, who: Signed | None, http_status: int = 200, **context: Any) -> HTMLResponse:
    rt = runtime(request)
    zone, now = rt.settings.store_timezone, rt.clock.now()
    base = {
        "who": who,
        "store_name": rt.settings.store_name,
        "now": now,
        "when": lambda m: when(m, zone),
        "countdown": lambda d: countdown(d, now),
        "money": money,
        "path": request.url.path,
        "note": None,
    }
    html = _env.get_template(f"{name}.html").render(base | context)
    return HTMLResponse(html, http_status, HEADERS)


async def _current(request: Request) -> Signed:
    rt = runtime(request)
    async with rt.sessions() as session:
        who = await signed_in(session, request.cookies.get(COOKIE), rt.clock.now())
    if who is None:
        raise LoginNeeded()
    return who


Current = Annotated[Signed, Depends(_current)]


def require(who: Signed, role: Role) -> None:
    if not who.role.can(role):
        raise ProblemError(403, "Sem permissão", f"esta ação pede o papel {role.value}; o seu é {who.role.value}")


async def read_form(request: Request, csrf: str | None) -> dict[str, str]:
    """The posted form (URL-encoded, at most ``MAX_FORM`` bytes), whose ``csrf`` field must equal ``csrf``."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ProblemError(
            415, "Formulário esperado", "envie o formulário da página (application/x-www-form-urlencoded)"
        )
    body = await read_body(request, MAX_FORM)
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), max_num_fields=20))
    except (UnicodeDecodeError, ValueError):
        raise ProblemError(400, "Formulário inválido", "o formulário não pôde ser lido") from None
    if csrf is None or not same_token(fields.get("csrf"), csrf):
        raise ProblemError(403, "Formulário expirado", "recarregue a página e envie de novo (token CSRF inválido)")
    return fields


def set_cookie(response: Response, rt: Runtime, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=rt.settings.env != "development",
    )


def back(to: str, message: str | None = None) -> RedirectResponse:
    """After a form: back to the page (303, so a reload does not post again), with a short note."""
    from urllib.parse import quote

    target = to if message is None else f"{to}{'&' if '?' in to else '?'}note={quote(message)}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


class PageRoute(APIRoute):
    """A dashboard page: without a session, the login page; a refusal or bad input, an HTML page saying why."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except LoginNeeded:
                return RedirectResponse("/dashboard/login", status_code=303, headers={"Cache-Control": "no-store"})
            except ProblemError as exc:
                p = exc.problem
                return page(request, "error", None, p.status, title=p.title, detail=p.detail or "")
            except RequestValidationError as exc:
                fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
                return page(request, "error", None, 422, title="Pedido inválido", detail=f"confira: {fields}")

        return handler


def local(path: str | None, default: str = "/dashboard") -> str:
    """A dashboard path to go back to (never another site): else ``default``."""
    ok = path is not None and (path == "/dashboard" or path.startswith("/dashboard/"))
    return path if ok and path is not None and "//" not in path and "\\" not in path else default
