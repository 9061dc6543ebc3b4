"""``zelo scorecard``: the table at 80 columns, and the command's checks."""

from datetime import date
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.tracker.metrics.conftest import World
from tracker.config import get_settings
from tracker.metrics.cli import print_scorecard
from tracker.metrics.params import query
from tracker.metrics.scorecard import scorecard
from zelo.cli import app

runner = CliRunner()


async def test_the_table_fits_80_columns_and_shows_the_figures(rolled: World) -> None:
    q = query("2026-11-02", "2026-11-08", today=date(2026, 11, 30), group_by="route")
    async with rolled.sessions() as session:
        rows = await scorecard(session, q)
    out = Console(width=80, record=True, color_system=None)
    print_scorecard(out, list(q.columns), rows, q.first, q.last)
    text = out.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = [line.strip() for line in text.splitlines()]
    [sp_rj] = [i for i, line in enumerate(lines) if line.startswith("SP→RJ")]
    assert lines[sp_rj].split() == ["SP→RJ", "2", "50%", "50", "2/4", "d", "24/24", "100%", "-"]
    assert lines[sp_rj + 1].split() == ["50%", "50%", "30.00", "-"]  # first attempt, on time (carrier), R$ recovered
    assert any(line.startswith("MG→RJ") for line in lines)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("ZELO_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return path


def test_the_command_rolls_up_then_prints_and_checks_its_options(database: Path) -> None:
    empty = runner.invoke(app, ["scorecard", "--from", "2026-11-02", "--to", "2026-11-08"])
    assert empty.exit_code == 0, empty.output
    assert "no shipments shipped from 2026-11-02 to 2026-11-08" in empty.output
    bad = runner.invoke(app, ["scorecard", "--from", "2026-11-31", "--group-by", "planet"])
    assert bad.exit_code == 1
    assert "--from: '2026-11-31' is not a date: expected YYYY-MM-DD" in bad.output
    assert "--group-by: 'planet' is not a grouping" in bad.output
    get_settings.cache_clear()


def test_an_account_takes_a_default_origin_checked(database: Path) -> None:
    add = ["accounts", "add", "correios", "--user", "u", "--access-code", "c", "--posting-card", "1"]
    bad = runner.invoke(app, [*add, "--name", "rj", "--origin-cep", "20040-020", "--origin-state", "XX"])
    assert bad.exit_code == 1 and "origin state 'XX' is not a Brazilian UF" in bad.output
    alone = runner.invoke(app, [*add, "--name", "rj", "--origin-cep", "20040-020"])
    assert alone.exit_code == 1 and "an origin CEP needs its UF too" in alone.output
    good = runner.invoke(app, [*add, "--name", "rj", "--origin-cep", "20040-020", "--origin-state", "rj"])
    assert good.exit_code == 0, good.output
    assert "origin: RJ" in runner.invoke(app, ["accounts", "list"]).output
    get_settings.cache_clear()
