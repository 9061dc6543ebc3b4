"""``zelo demo`` end to end: real sandbox server on a port, SQLite file, three simulated weeks."""

import io
from pathlib import Path

from rich.console import Console

from carriers.sandbox import scenario_names
from zelo.demo import run_demo


async def test_demo_tracks_every_scenario_to_the_carriers_final_status_through_an_outage(tmp_path: Path) -> None:
    out = io.StringIO()
    n = len(scenario_names())
    report = await run_demo(Console(file=out, width=200), shipments=n, days=21, database=tmp_path / "demo.db")
    text = out.getvalue()
    assert report.polled > n and report.failed > 0  # the outage window failed some polls, retried later
    assert set(report.errors) == {"carrier_unavailable"}
    assert f"{n}/{n} shipments end in the carrier's own final status" in text
    for scenario in scenario_names():
        assert scenario in text
    assert (tmp_path / "demo.db").exists()
