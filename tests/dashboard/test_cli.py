"""``zelo users create``: the password asked twice (or from ZELO_USER_PASSWORD), only its hash stored."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.config import get_settings
from zelo.cli import app

runner = CliRunner()
PASSWORD = "uma senha bem longa"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "zelo.db"
    monkeypatch.setenv("ZELO_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    get_settings.cache_clear()  # the process's settings are read once: this test's database
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield path
    get_settings.cache_clear()


def _users(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT email, role, password_hash FROM dashboard_users ORDER BY id").fetchall()


def test_the_password_is_asked_twice_and_stored_hashed(database: Path) -> None:
    result = runner.invoke(
        app, ["users", "create", "--email", "Ana@Loja.example", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "created with role admin" in result.output and PASSWORD not in result.output
    [(email, role, hashed)] = _users(database)
    assert (email, role) == ("ana@loja.example", "admin") and hashed.startswith("$argon2id$")


def test_the_password_may_come_from_the_environment(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZELO_USER_PASSWORD", PASSWORD)
    result = runner.invoke(app, ["users", "create", "--email", "vera@loja.example", "--role", "viewer"])
    assert result.exit_code == 0, result.output
    assert [u[:2] for u in _users(database)] == [("vera@loja.example", "viewer")]


@pytest.mark.parametrize(
    ("args", "typed", "said"),
    [
        (["--role", "ops"], f"{PASSWORD}\nanother password\n", "the two passwords differ"),
        (["--role", "ops"], "short\nshort\n", "expected 12 to 256"),
        (["--role", "chief"], f"{PASSWORD}\n{PASSWORD}\n", "role 'chief'; expected one of: viewer, ops, admin"),
    ],
)
def test_a_bad_password_or_role_creates_nobody(database: Path, args: list[str], typed: str, said: str) -> None:
    result = runner.invoke(app, ["users", "create", "--email", "bia@loja.example", *args], input=typed)
    assert result.exit_code == 1
    assert said in result.output
    assert _users(database) == []
