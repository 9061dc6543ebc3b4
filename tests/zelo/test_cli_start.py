"""How every ``zelo`` command starts: on a database that is missing, empty or behind the code's revision (one
line on stderr, exit status 1, no file created), and how fast and plain its help is."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.conftest import PG_SERVER
from tracker.config import get_settings
from tracker.db import make_engine
from zelo.cli import LAZY, app, load

runner = CliRunner()
NEEDS_THE_SCHEMA = [
    ["incidents", "list"],
    ["detect", "--once"],
    ["poll", "--once"],
    ["poll", "--shipment", "1"],
    ["accounts", "list"],
    ["accounts", "add", "correios", "--name", "n", "--user", "u", "--posting-card", "1", "--access-code", "c"],
    ["apikeys", "list"],
    ["apikeys", "create", "--name", "erp"],
    ["notify", "dispatch"],
    ["notify", "preview", "posted", "--shipment", "1"],
    ["import", "shipments.csv"],
    ["api"],
]


@pytest.fixture
def missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """ZELO_DATABASE_URL names a SQLite file that does not exist; the serving commands may start."""
    path = tmp_path / "nothing-here.db"
    monkeypatch.setenv("ZELO_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("ZELO_ENV", "development")
    monkeypatch.setenv("ZELO_SECRET_KEY", "a-long-random-value-0123456789")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shipments.csv").write_text("external_id,carrier,tracking_code\nP1,correios,SS123456785BR\n")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import uvicorn

    calls: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append("uvicorn"))
    return calls


def refused(args: list[str]) -> str:
    """The one line a command says when it refuses the database (exit status 1)."""
    result = runner.invoke(app, args)
    assert result.exit_code == 1, (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize("args", NEEDS_THE_SCHEMA, ids=" ".join)
def test_a_missing_sqlite_file_is_an_error_and_stays_missing(
    missing: Path, no_server: list[str], args: list[str]
) -> None:
    line = refused(args)
    assert line == (
        f"error: database at sqlite+aiosqlite:///{missing} does not exist (no file {missing}): "
        "run `zelo db upgrade` to create it"
    )
    assert not missing.exists() and list(missing.parent.glob("*.db*")) == []
    assert no_server == []


@pytest.mark.parametrize("args", NEEDS_THE_SCHEMA, ids=" ".join)
def test_an_empty_database_is_not_migrated(missing: Path, no_server: list[str], args: list[str]) -> None:
    missing.touch()
    assert refused(args) == f"error: database at sqlite+aiosqlite:///{missing} is not migrated: run `zelo db upgrade`"
    assert no_server == []


def test_a_database_behind_the_head_revision_is_not_migrated(missing: Path, no_server: list[str]) -> None:
    assert runner.invoke(app, ["db", "upgrade", "0006"]).exit_code == 0
    for args in (["incidents", "list"], ["api"]):
        line = refused(args)
        assert line.startswith(
            f"error: database at sqlite+aiosqlite:///{missing} is not migrated: run `zelo db upgrade`"
        )
        assert "it is at revision 0006" in line
    assert no_server == []
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    listed = runner.invoke(app, ["incidents", "list"])
    assert listed.exit_code == 0 and "no incidents yet" in listed.output


def test_db_upgrade_and_the_demo_are_the_commands_that_create_a_database(missing: Path) -> None:
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert missing.exists()


async def test_an_empty_postgres_database_is_not_migrated_and_credentials_are_not_shown(
    monkeypatch: pytest.MonkeyPatch, no_server: list[str]
) -> None:
    name = f"zelo_test_{os.getpid()}_empty"
    admin = make_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        await conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        server = PG_SERVER.replace("postgres@", "postgres:hunter2@")
        monkeypatch.setenv("ZELO_DATABASE_URL", f"{server}/{name}")
        get_settings.cache_clear()
        bare = PG_SERVER.split("//", 1)[1].split("@", 1)[-1]
        line = await _in_thread(["apikeys", "list"])
        assert line == f"error: database at postgresql+asyncpg://{bare}/{name} is not migrated: run `zelo db upgrade`"
        assert "hunter2" not in line and "postgres@" not in line
    finally:
        get_settings.cache_clear()
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


async def _in_thread(args: list[str]) -> str:
    import asyncio

    return await asyncio.to_thread(refused, args)


def test_zelo_help_imports_no_database_driver_web_framework_or_template_engine() -> None:
    heavy = ("fastapi", "sqlalchemy.ext.asyncio", "httpx", "jinja2", "alembic", "uvicorn")
    probe = (
        "import sys\n"
        "from zelo.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='zelo')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', [m for m in {heavy!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "LOADED []" in done.stdout, done.stdout[-500:]
    for name in LAZY:
        assert name in done.stdout  # every command is listed


@pytest.mark.parametrize("name", list(LAZY))
def test_the_help_listed_for_a_lazy_command_is_its_own(name: str) -> None:
    command = load(name)
    own = " ".join((command.help or "").split("\n\n")[0].split())
    assert LAZY[name].help == own


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["incidents", "list", "--help"],
        ["accounts", "add", "--help"],
        ["poll", "--help"],
        ["demo", "--help"],
    ],
    ids=" ".join,
)
def test_help_shows_no_type_hints(args: list[str]) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    for hint in ("<str>", "<bool>", "<int", "<path>", "TEXT", "INTEGER"):
        assert hint not in result.output, (hint, result.output)


def test_help_names_what_an_option_takes() -> None:
    poll = runner.invoke(app, ["poll", "--help"], env={"COLUMNS": "120"})
    assert "--shipment" in poll.output and "ID|CODE" in poll.output
    preview = runner.invoke(app, ["notify", "preview", "--help"], env={"COLUMNS": "120"})
    assert "--out" in preview.output and "FILE" in preview.output and "ID|CODE" in preview.output
