"""``zelo demo`` end to end: real sandbox server on a port, SQLite file, three simulated weeks."""

import asyncio
import io
import re
import shlex
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from carriers.sandbox import scenario_names
from notifier.checkin import CheckinError, read_token
from notifier.models import Notification
from tracker.config import PLACEHOLDER_SECRET, get_settings
from tracker.db import make_engine, make_sessionmaker
from tracker.detector import Incident
from tracker.models import Shipment, TrackingEvent
from tracker.polling import PollReport
from zelo.cli import app
from zelo.demo import demo_window, run_demo

NOW = datetime(2026, 11, 27, 14, 47, 12, tzinfo=UTC)  # a Friday afternoon: where the simulated clock ends
SHIPMENTS = 42  # Correios ships 2 of every 6 (zelo/demo_carriers.toml): 14 parcels, one per scenario


@dataclass
class Demo:
    database: Path
    text: str
    report: PollReport


def play(database: Path, now: datetime = NOW) -> Demo:
    out = io.StringIO()
    report = asyncio.run(
        run_demo(Console(file=out, width=200), shipments=SHIPMENTS, days=21, database=database, now=now)
    )
    return Demo(database, out.getvalue(), report)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return play(tmp_path_factory.mktemp("demo") / "demo.db")


def optout_tokens(mail: Path) -> list[str]:
    """The opt-out tokens in the links of the e-mails the demo wrote."""
    tokens = []
    for path in sorted(mail.glob("*.eml")):
        body = BytesParser(policy=default).parsebytes(path.read_bytes()).get_body(("plain",))
        tokens += re.findall(r"/optout/([A-Za-z0-9_-]+)", body.get_content() if body else "")  # type: ignore[attr-defined]
    return tokens


@pytest.mark.timeout(240)
def test_demo_tracks_every_scenario_to_the_carriers_final_status_through_an_outage(demo: Demo) -> None:
    n = SHIPMENTS
    assert demo.report.polled > n and demo.report.failed > 0  # the outage and Jadlog's flaky API failed some polls
    assert set(demo.report.errors) == {"carrier_unavailable"}
    assert f"{n}/{n} shipments end in the carrier's own final status" in demo.text
    assert f"{n}/{n} shipments raised exactly the incidents their scenario should" in demo.text
    for scenario in scenario_names():
        assert scenario in demo.text
    assert demo.database.exists()
    tokens = optout_tokens(demo.database.with_name("demo-mail"))
    assert tokens, "the demo's e-mails carry opt-out links"
    with pytest.raises(CheckinError, match="not one we sent"):  # the demo signs with its own throwaway secret
        read_token(tokens[0], secret=PLACEHOLDER_SECRET, now=NOW - timedelta(days=1), purpose="optout")


def test_five_carriers_ship_side_by_side_two_of_them_pushing_to_the_door(demo: Demo) -> None:
    row = r"│ (\w+) +│ (\d+) +│ (\d+) +│ (\d+)/(\d+) +│ (\d+) +│ ([\d-]+) +│"  # the "Per carrier" table
    rows = {m[0]: m[1:] for m in re.findall(row, demo.text)}
    assert set(rows) == {"correios", "jadlog", "totalexpress", "loggi", "melhorenvio"}
    for carrier, (shipments, _delivered, agree, of, _incidents, by_push) in rows.items():
        assert agree == of == shipments, carrier  # every carrier's shipments end where that carrier says
        assert (by_push != "-") == (carrier in ("loggi", "melhorenvio")), carrier
    assert int(rows["loggi"][5]) == int(rows["loggi"][0]) and int(rows["melhorenvio"][5]) > 0
    acknowledged = re.search(r"Pushes: (\d+) webhooks acknowledged by Zelo's door", demo.text)
    assert acknowledged and int(acknowledged[1]) > 0 and "refused" not in acknowledged[0]
    assert "jadlog (a flaky API: 15% of calls answered 503)" in " ".join(demo.text.split())


def test_the_simulated_clock_runs_the_three_weeks_up_to_the_real_now(demo: Demo) -> None:
    start, end = demo_window(21, NOW)
    assert end == datetime(2026, 11, 27, 14, 30, tzinfo=UTC) and start == end - timedelta(days=21)

    async def bounds() -> list[tuple[datetime | None, datetime | None]]:
        engine = make_engine(f"sqlite+aiosqlite:///{demo.database}")
        async with make_sessionmaker(engine)() as session:
            found = [
                (await session.execute(select(func.min(column), func.max(column)))).one()
                for column in (
                    Shipment.created_at,
                    TrackingEvent.occurred_at,
                    TrackingEvent.recorded_at,
                    Incident.opened_at,
                    Incident.updated_at,
                    Notification.created_at,
                    Notification.sent_at,
                )
            ]
        await engine.dispose()
        return [tuple(b) for b in found]  # type: ignore[misc]

    for first, last in asyncio.run(bounds()):
        assert first is not None and last is not None
        assert start <= first and last <= NOW  # nothing happened before the start nor after the real now


def test_the_summary_explains_wa_link_and_suppressed_and_shows_sla_alerts(demo: Demo) -> None:
    text = " ".join(demo.text.split())
    assert "wa_link: WhatsApp messages (only for customers who agreed to WhatsApp) queued as wa.me" in text
    assert "suppressed: not sent, by policy" in text
    assert re.search(r"│ ops_sla\s+│ ops_email\s+│ sent\s+│ \d+", demo.text), "the SLA alerts job ran"


@pytest.mark.timeout(120)
def test_the_what_next_block_ends_the_output_and_each_command_works_as_printed(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = demo.text.rstrip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("What next"))
    commands = [line.strip() for line in lines[start + 1 :]]
    assert 4 <= len(commands) <= 8 and all(
        line.startswith(("export ", ".venv/bin/zelo ", "ZELO_")) for line in commands
    )
    assert commands[0] == f"export ZELO_DATABASE_URL=sqlite+aiosqlite:///{demo.database}"
    monkeypatch.chdir(tmp_path)  # where --out files land
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: served.append(f"{kw['host']}:{kw['port']}"))
    runner = CliRunner()
    for line in commands:
        words = shlex.split(line, comments=True)
        exported = words[0] == "export"
        env = {}
        while words and (words[0] == "export" or "=" in words[0]):
            name, _, value = words.pop(0).partition("=")
            if value:
                env[name] = value
        get_settings.cache_clear()
        if exported:
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            continue
        assert words[0] == ".venv/bin/zelo", line
        result = runner.invoke(app, words[1:], env=env)
        assert result.exit_code == 0, (line, result.output)
    get_settings.cache_clear()
    assert served == ["127.0.0.1:8000"]
    assert list(tmp_path.glob("*.html")), "the preview wrote its HTML"


@pytest.mark.timeout(240)
def test_two_runs_end_with_the_same_counts(demo: Demo, tmp_path: Path) -> None:
    again = play(tmp_path / "demo.db")

    def counts(text: str) -> list[str]:
        skip = ("simulated day", "e-mails written to", "export ZELO_DATABASE_URL")
        return [
            line for line in text.splitlines() if not line.strip().startswith(skip) and "e-mails written" not in line
        ]

    assert counts(again.text) == counts(demo.text)


def test_every_claimable_incident_of_the_demo_becomes_a_claim_filed_once_inside_its_window(demo: Demo) -> None:
    from claims.models import Claim, ClaimFiling

    async def read() -> tuple[list[Claim], list[ClaimFiling]]:
        engine = make_engine(f"sqlite+aiosqlite:///{demo.database}")
        async with make_sessionmaker(engine)() as session:
            claims = list(await session.scalars(select(Claim)))
            filings = list(await session.scalars(select(ClaimFiling)))
        await engine.dispose()
        return claims, filings

    claims, filings = asyncio.run(read())
    by_type = Counter((c.claim_type, c.status) for c in claims)
    assert {c.kind for c in claims} >= {"lost", "stolen", "damaged"}  # the loss, theft and damage scenarios
    assert by_type[("refund", "withdrawn")] + by_type[("refund", "candidate")] < len(claims)
    assert not [c for c in claims if c.status in ("expired", "refused")]  # none closed unfiled, none refused
    filed_once = Counter(f.claim_id for f in filings if f.operation == "file" and f.outcome == "filed")
    assert filed_once and max(filed_once.values()) == 1  # never filed twice
    assert all(c.filed_at is None or c.filed_at <= c.closes_at for c in claims)  # inside the window
    paid = [c for c in claims if c.status == "paid"]
    assert paid and all(c.amount_paid and c.amount_paid > 0 for c in paid)  # followed to the money
    assert "Claims:" in demo.text and "R$ recovered" in demo.text
