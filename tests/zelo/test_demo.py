"""``zelo demo`` end to end: real sandbox server on a port, SQLite file, three simulated weeks."""

import io
import re
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest
from rich.console import Console

from carriers.sandbox import scenario_names
from notifier.checkin import CheckinError, read_token
from tracker.config import PLACEHOLDER_SECRET
from zelo.demo import demo_start, run_demo


def optout_tokens(mail: Path) -> list[str]:
    """The opt-out tokens in the links of the e-mails the demo wrote."""
    tokens = []
    for path in sorted(mail.glob("*.eml")):
        body = BytesParser(policy=default).parsebytes(path.read_bytes()).get_body(("plain",))
        tokens += re.findall(r"/optout/([A-Za-z0-9_-]+)", body.get_content() if body else "")  # type: ignore[attr-defined]
    return tokens


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
    tokens = optout_tokens(tmp_path / "demo-mail")
    assert tokens, "the demo's e-mails carry opt-out links"
    with pytest.raises(CheckinError, match="not one we sent"):  # the demo signs with its own throwaway secret
        read_token(tokens[0], secret=PLACEHOLDER_SECRET, now=demo_start(), purpose="optout")
