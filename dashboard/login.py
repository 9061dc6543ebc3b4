"""Log in (with the lockout's message), log out."""

import secrets

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboard.users import MAX_FAILURES, Refused, log_in, log_out
from dashboard.web import COOKIE, LOGIN_CSRF_COOKIE, Current, PageRoute, back, page, read_form, set_cookie, when
from tracker.web import runtime

router = APIRouter(prefix="/dashboard", route_class=PageRoute, include_in_schema=False)
log = structlog.get_logger(__name__)


def _login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "login", None, status, csrf=token, error=error)
    set_cookie(response, runtime(request), LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """The login form carries the token of its own cookie (a double-submit CSRF check: no session yet)."""
    rt = runtime(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    form = await read_form(request, expected)
    now = rt.clock.now()
    async with rt.sessions() as session, session.begin():
        result = await log_in(session, form.get("email", ""), form.get("password", ""), now)
    if isinstance(result, Refused):
        log.info("dashboard_login_refused", locked=result.locked_until is not None)  # never the e-mail
        if result.locked_until is not None:
            until = when(result.locked_until, rt.settings.store_timezone)
            error = (
                f"Conta bloqueada após {MAX_FAILURES} tentativas erradas. Tente de novo depois de {until} "
                "ou peça a um administrador para verificar."
            )
            return _login_page(request, error, 423)
        return _login_page(request, "E-mail ou senha incorretos.", 401)
    token, who = result
    log.info("dashboard_login", user_id=who.user_id, role=who.role.value)
    response = back("/dashboard")
    set_cookie(response, rt, COOKIE, token, 12 * 3600)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/dashboard")
    return response


@router.post("/logout")
async def logout(request: Request, who: Current) -> Response:
    rt = runtime(request)
    await read_form(request, who.csrf)
    async with rt.sessions() as session, session.begin():
        await log_out(session, who.session_id, rt.clock.now())
    response = back("/dashboard/login")
    response.delete_cookie(COOKIE, path="/dashboard")
    return response
