"""``zelo claims`` on a SQLite file database, at the real time: the list readable at 80 columns with its deadlines,
one claim in detail (the customer masked), its packet, filing one now, and a person's moves."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from claims.cli import claims_app
from claims.policy import Policies
from claims.service import Claims
from tests.claims.conftest import Parcels
from tracker.config import get_settings
from tracker.db import make_engine, make_sessionmaker
from tracker.migrate import upgrade
from tracker.vault import Vault
from tracker.vocabulary import Kind
from zelo import features

Sessions = async_sessionmaker[AsyncSession]
runner = CliRunner()
root = typer.Typer()
root.add_typer(claims_app, name="claims")  # as zelo/cli.py will


@root.callback()
def main(ctx: typer.Context) -> None:
    ctx.obj = features.open_runtime


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("ZELO_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "80")
    get_settings.cache_clear()
    on(url, lambda sessions: asyncio.sleep(0), migrate=True)
    yield url
    get_settings.cache_clear()


def on(url: str, work: Callable[[Sessions], Awaitable[Any]], *, migrate: bool = False) -> Any:
    async def go() -> Any:
        engine = make_engine(url)
        try:
            if migrate:
                await upgrade(engine)
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def claims(url: str, *kinds: tuple[Kind, int]) -> list[int]:
    """A claim per (kind, days since its parcel's expected delivery), made now."""

    async def work(sessions: Sessions) -> list[int]:
        now = datetime.now(UTC)
        parcels = Parcels(sessions, Vault("cli"), lambda: now)
        out = []
        for kind, days_ago in kinds:
            shipment = await parcels.shipment(carrier_expected_delivery=date.today() - timedelta(days=days_ago),
                                              customer_email="maria.silva@example.com")  # fmt: skip
            async with sessions() as session, session.begin():
                await Claims()(session, [await parcels.raised(shipment, kind)], [], now)
            out += [c.id for c in await parcels.claims(shipment)]
        return out

    result: list[int] = on(url, work)
    return result


def ok(*args: str) -> str:
    result = runner.invoke(root, ["claims", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_list_fits_80_columns_with_its_deadlines(database: str) -> None:
    soon, later, waiting = claims(database, (Kind.LOST, 25), (Kind.DAMAGED, 5), (Kind.STOLEN, -10))
    out = ok("list")
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.splitlines()[-1] == "showing 3 of 3"
    rows = [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert rows == [str(waiting), str(later), str(soon)]  # newest first
    assert "indemnity" in out and "230.00" in out and "ready" in out and "candidate" in out
    assert ok("list", "--limit", "1").splitlines()[-1] == "showing 1 of 3"
    due = ok("list", "--due", "10d")  # unfiled claims whose window closes within 10 days
    assert [line.split()[0] for line in due.splitlines() if line.split() and line.split()[0].isdigit()] == [str(soon)]
    assert ok("list", "--status", "candidate").splitlines()[-1] == "showing 1 of 1"
    assert ok("list", "--status", "paid") == "no claims match\n"
    bad = runner.invoke(root, ["claims", "list", "--due", "soon"])
    assert bad.exit_code == 2 and "--due 'soon': expected days or hours, like 7d or 48h" in bad.output
    assert runner.invoke(root, ["claims", "list", "--status", "open"]).exit_code == 2


def test_a_manual_claim_from_its_packet_to_the_money(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Policies.for_shipment
    monkeypatch.setattr(Policies, "for_shipment", lambda self, c, s: replace(original(self, c, s), filer="manual"))
    [claim] = claims(database, (Kind.LOST, 10))
    filed = ok("file", str(claim), "--out", str(tmp_path))
    packet = tmp_path / f"reclamacao-ZELO-{claim}.pdf"
    assert f"the packet is {packet}" in filed and f"zelo claims filed {claim} PROTOCOL" in filed
    assert packet.read_bytes().startswith(b"%PDF-")
    shown = ok("show", str(claim))
    assert "M***" in shown and "m***@example.com" in shown and "maria.silva" not in shown and "Maria" not in shown
    assert ok("filed", str(claim), "PI123456") == f"claim {claim}: filed, protocol PI123456\n"
    again = runner.invoke(root, ["claims", "filed", str(claim), "PI9"])
    assert again.exit_code == 1 and "status: claim" in again.output and "already filed" in again.output
    assert runner.invoke(root, ["claims", "answer", str(claim), "maybe"]).exit_code == 2
    assert runner.invoke(root, ["claims", "answer", str(claim), "approved", "--amount", "1,5"]).exit_code == 2
    assert ok("answer", str(claim), "approved") == f"claim {claim}: approved, protocol PI123456\n"
    assert ok("paid", str(claim), "230.00") == f"claim {claim}: paid, protocol PI123456\n"
    gone = runner.invoke(root, ["claims", "withdraw", str(claim), "turned up"])
    assert gone.exit_code == 1 and "can no longer be withdrawn" in gone.output
    pdf, html = tmp_path / "p.pdf", tmp_path / "p.html"
    assert ok("packet", str(claim), "--pdf", str(pdf), "--html", str(html)) == f"wrote {pdf}, {html}\n"
    text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "PI123456" in text and "Maria Silva" in text  # the carrier's packet names the addressee
    assert "PI123456" in html.read_text() and ok("packet", str(claim)).startswith("<!DOCTYPE html>")
    assert runner.invoke(root, ["claims", "show", "999"]).exit_code == 1


def test_file_one_now_through_its_filer(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Policies.for_shipment
    monkeypatch.setattr(Policies, "for_shipment", lambda self, c, s: replace(
        original(self, c, s), filer="email", claim_email="sinistros@carrier.example"))  # fmt: skip
    monkeypatch.setenv("ZELO_EMAIL_FOLDER", str(tmp_path / "mail"))
    monkeypatch.setenv("ZELO_REPLY_TO", "sac@loja.example")  # where the carrier answers
    ready, early = claims(database, (Kind.LOST, 10), (Kind.LOST, -5))
    out = ok("file", str(ready))  # its policy waits for approval: asking to file it now is the approval
    assert (
        out.startswith(f"filed: protocol <zelo-claim-{ready}.") and (tmp_path / "mail" / f"claim-{ready}.eml").exists()
    )
    not_yet = runner.invoke(root, ["claims", "file", str(early)])
    assert not_yet.exit_code == 1 and "not ready to file (too early: its window opens" in not_yet.output
    done = runner.invoke(root, ["claims", "file", str(ready)])
    assert done.exit_code == 1 and "is filed: nothing to file" in done.output


def test_filing_without_an_address_the_carrier_can_answer_to_refuses_nothing(database: str) -> None:
    [ready] = claims(database, (Kind.LOST, 10))
    result = runner.invoke(root, ["claims", "file", str(ready)])  # ZELO_EMAIL_FROM is zelo@localhost
    assert result.exit_code == 1 and "set ZELO_REPLY_TO to the store's address" in result.output
    assert "ready" in ok("show", str(ready))  # still ready, not refused
