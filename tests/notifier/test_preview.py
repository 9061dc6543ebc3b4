"""``zelo notify preview``: a message rendered with a shipment's data and plausible facts."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from notifier.checkin import record_answer
from notifier.vocabulary import CheckinAnswer
from tests.support import correios_account
from tracker.config import get_settings
from tracker.db import make_engine, make_sessionmaker
from tracker.detector.service import Detector
from tracker.models import shipments_table
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault
from zelo.cli import app

runner = CliRunner()
NOW = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'preview.db'}"
    monkeypatch.setenv("ZELO_DATABASE_URL", url)
    monkeypatch.setenv("ZELO_STORE_NAME", "Casa Aurora")
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    asyncio.run(_seed(url))
    yield url
    get_settings.cache_clear()


async def _seed(url: str) -> None:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session, session.begin():
        account = await correios_account(session, Vault("change-me"), name="loja", now=NOW)
        item = NewShipment(
            "correios", account, "SS123456785BR", external_id="ERP-77", order_number="PED-5", customer_name="Rui Lima"
        )
        await register(session, [item], NOW)
        await session.execute(
            update(shipments_table).values(
                status="awaiting_pickup",
                promise_date=date(2026, 11, 9),
                original_promise_date=date(2026, 11, 5),
                pickup_deadline=datetime(2026, 11, 12, 2, 59, tzinfo=UTC),
            )
        )
        answer = CheckinAnswer.WITH_ISSUE
        await record_answer(session, 1, answer, "caixa amassada", None, now=NOW, detector=Detector())
    await engine.dispose()


def test_preview_prints_subject_text_and_html_length(database: str) -> None:
    result = runner.invoke(app, ["notify", "preview", "delayed", "--shipment", "1"])
    assert result.exit_code == 0, result.output
    assert "Subject: Seu pedido PED-5 vai atrasar" in result.output
    assert "Olá, Rui!" in result.output and "09/11/2026" in result.output and "Casa Aurora" in result.output
    assert "HTML:" in result.output and "characters" in result.output


def test_preview_uses_the_pickup_deadline_and_the_open_incident(database: str) -> None:
    pickup = runner.invoke(app, ["notify", "preview", "awaiting_pickup", "--shipment", "1", "--channel", "whatsapp"])
    assert pickup.exit_code == 0, pickup.output
    assert "11/11/2026" in pickup.output and "Subject" not in pickup.output and "HTML" not in pickup.output
    damaged = runner.invoke(app, ["notify", "preview", "damaged", "--shipment", "1"])
    assert damaged.exit_code == 0 and "Obrigado por nos avisar" in damaged.output  # the customer told us
    ops = runner.invoke(app, ["notify", "preview", "ops_incident", "--shipment", "1"])
    assert ops.exit_code == 0 and "avaria" in ops.output and "caixa amassada" in ops.output
    checkin = runner.invoke(app, ["notify", "preview", "checkin", "--shipment", "1"])
    assert checkin.exit_code == 0 and "/c/" in checkin.output and "answer=not_received" in checkin.output


def test_preview_errors_are_clear(database: str) -> None:
    missing = runner.invoke(app, ["notify", "preview", "posted", "--shipment", "99"])
    assert missing.exit_code == 1 and "no shipment with id, tracking code or external id '99'" in missing.output
    bare = runner.invoke(app, ["notify", "preview", "posted", "--shipment", "1", "--open"])
    assert bare.exit_code == 2 and "give --out FILE as well" in bare.output
    ops = runner.invoke(app, ["notify", "preview", "ops_sla", "--shipment", "1", "--channel", "whatsapp"])
    assert ops.exit_code == 2 and "--channel email" in ops.output


@pytest.mark.parametrize("ref", ["1", "SS123456785BR", "ss123456785br", "ERP-77"])
def test_preview_finds_the_shipment_by_id_tracking_code_or_external_id(database: str, ref: str) -> None:
    result = runner.invoke(app, ["notify", "preview", "delayed", "--shipment", ref])
    assert result.exit_code == 0, result.output
    assert "Subject: Seu pedido PED-5 vai atrasar" in result.output


def test_preview_writes_the_html_to_a_file_and_opens_it(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    out = tmp_path / "delayed.html"
    result = runner.invoke(app, ["notify", "preview", "delayed", "--shipment", "SS123456785BR", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith(("<!doctype html", "<html")) and "Rui" in html
    assert f"HTML written to {out}" in result.output and opened == []
    shown = runner.invoke(app, ["notify", "preview", "posted", "--shipment", "1", "--out", str(out), "--open"])
    assert shown.exit_code == 0, shown.output
    assert opened == [out.resolve().as_uri()]
    whatsapp = runner.invoke(
        app, ["notify", "preview", "posted", "--shipment", "1", "--channel", "whatsapp", "--out", str(tmp_path / "w")]
    )
    assert whatsapp.exit_code == 1 and "has no HTML" in whatsapp.output and not (tmp_path / "w").exists()
