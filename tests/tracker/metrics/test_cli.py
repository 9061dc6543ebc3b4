"""``zelo scorecard``: the table at 80 columns, and the command's checks."""

from datetime import date
from decimal import Decimal
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
    # shipments, on time (store), incidents per 100, transit p50/p90, claims approved, trend (none before)
    assert lines[sp_rj].split() == ["SP→RJ", "2", "50%", "50", "2/4", "100%", "-"]
    # first attempt, on time (carrier), TMR mean/p90 hours, R$ recovered, trend
    assert lines[sp_rj + 1].split() == ["50%", "50%", "24/24", "30", "-"]
    assert "…" not in text
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


def test_large_figures_are_not_cut_at_80_columns() -> None:
    row = {
        "group": {"carrier": "totalexpress"}, "shipments": 1_234_567, "first_attempt_pct": 76.9,
        "on_time_promise_pct": 51.7, "on_time_deadline_pct": 100.0, "incidents_per_100": 184.85,
        "transit_p50_days": 17, "transit_p90_days": 60, "tmr_mean_hours": 1130.1, "tmr_p90_hours": 2160,
        "claims_approval_pct": 100.0, "amount_recovered": Decimal("1234567.50"),
        "trend": {"on_time_promise_pct": -12.3, "incidents_per_100": 100.25},
    }  # fmt: skip
    out = Console(width=80, record=True, color_system=None)
    print_scorecard(out, ["carrier"], [row], date(2026, 11, 1), date(2026, 11, 30))
    text = out.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "1234567" in text and "1130/2160" in text and "1,234,568" in text and "-12.3" in text
