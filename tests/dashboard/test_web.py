"""The pages' small helpers: money and countdowns in pt-BR, the cookie's flags, the way back after a form."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from fastapi.responses import Response

from dashboard.web import countdown, local, money, set_cookie
from tracker.config import Settings
from tracker.runtime import Runtime

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(Decimal("1234.5"), "R$ 1.234,50"), (Decimal("0"), "R$ 0,00"), (Decimal("189.90"), "R$ 189,90"), (None, "—")],
)
def test_money_is_written_the_brazilian_way(amount: Decimal | None, shown: str) -> None:
    assert money(amount) == shown


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (timedelta(hours=2, minutes=5), "vence em 2 h 5 min"),
        (timedelta(minutes=-61), "atrasado há 1 h 1 min"),
        (timedelta(days=3, hours=4), "vence em 3 d 4 h"),
        (timedelta(minutes=9), "vence em 9 min"),
    ],
)
def test_countdowns(delta: timedelta, shown: str) -> None:
    assert countdown(NOW + delta, NOW) == shown


@pytest.mark.parametrize(("env", "secure"), [("development", False), ("test", True), ("production", True)])
def test_the_session_cookie_is_secure_outside_development(env: str, secure: bool) -> None:
    settings = Settings(env=env, secret_key="a-real-secret-of-some-length")  # type: ignore[arg-type]
    response = Response()
    set_cookie(response, cast(Runtime, cast(Any, type("R", (), {"settings": settings}))), "zelo_session", "t", 60)
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/dashboard" in header
    assert ("Secure" in header) is secure


@pytest.mark.parametrize(
    ("given", "back"),
    [
        ("/dashboard?severity=high", "/dashboard"),  # not under /dashboard/: the default
        ("/dashboard/shipments/3", "/dashboard/shipments/3"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/dashboard/", "/dashboard"),
        ("/dashboard//evil.example", "/dashboard"),
        (None, "/dashboard"),
    ],
)
def test_a_form_goes_back_only_to_a_dashboard_page(given: str | None, back: str) -> None:
    assert local(given) == back
