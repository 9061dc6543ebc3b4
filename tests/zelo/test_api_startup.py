"""``zelo api`` says where it listens, on which database (never its credentials) and in which mode."""

import pytest
from typer.testing import CliRunner

from tracker.config import get_settings
from zelo.cli import app


@pytest.fixture(autouse=True)
def _fresh_settings() -> object:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("url", "redis", "expected"),
    [
        ("sqlite+aiosqlite:///./zelo.db", None, ["database=sqlite", "database_at=./zelo.db", "mode=embedded",
                                                 "jobs=in-process"]),
        ("postgresql+asyncpg://zelo:pa55word@db.internal/zelo", "redis://:hunter2@cache.internal:6379/0",
         ["database=postgresql", "database_at=db.internal:5432/zelo", "mode=scaled_out", "jobs=redis"]),
    ],
)  # fmt: skip
def test_zelo_api_prints_a_startup_line(
    monkeypatch: pytest.MonkeyPatch, url: str, redis: str | None, expected: list[str]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    monkeypatch.setattr("zelo.cli.require_schema", lambda settings: None)  # no database here: checked elsewhere
    monkeypatch.setenv("ZELO_ENV", "development")
    monkeypatch.setenv("ZELO_DATABASE_URL", url)
    if redis:
        monkeypatch.setenv("ZELO_REDIS_URL", redis)
    result = CliRunner().invoke(app, ["api", "--port", "8100", "--workers", "2"])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if "api_starting" in line]
    for part in ["listening=http://127.0.0.1:8100", "workers=2", *expected]:
        assert part in line
    for secret in ("pa55word", "zelo:", "hunter2"):
        assert secret not in line
