"""The policy table: rates, digest rounds and fallbacks read from triggers.toml, and bad entries named."""

import re
import tomllib
from datetime import UTC, datetime, timedelta

import pytest

from notifier.config import POLICY_FILE, parse_policy
from notifier.vocabulary import Channel, Trigger
from tracker.vocabulary import Severity

SHIPPED = tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))


def test_the_shipped_table_limits_whatsapp_and_digests_ops_email() -> None:
    policy = parse_policy(SHIPPED)
    assert policy.rate_limits[Channel.WHATSAPP] == 80
    assert policy.digest == {Channel.OPS_EMAIL: timedelta(minutes=15)}
    assert policy.fallback == {Channel.WHATSAPP: Channel.WA_LINK}
    assert policy.uncapped == {Trigger.DELIVERED, Trigger.CHECKIN}  # the cap never swallows the journey's end
    ops = policy.triggers[Trigger.OPS_INCIDENT]  # medium and up alert ops; below high, in the digest only
    assert (ops.min_severity, ops.at_once_severity) == (Severity.MEDIUM, Severity.HIGH)


@pytest.mark.parametrize(
    ("queued", "due"),
    [
        (datetime(2026, 11, 2, 10, 7, 30, tzinfo=UTC), datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        (datetime(2026, 11, 2, 10, 15, tzinfo=UTC), datetime(2026, 11, 2, 10, 15, tzinfo=UTC)),
        (datetime(2026, 11, 2, 23, 50, tzinfo=UTC), datetime(2026, 11, 3, 0, 0, tzinfo=UTC)),
    ],
)
def test_a_digest_message_waits_for_the_end_of_its_round(queued: datetime, due: datetime) -> None:
    policy = parse_policy(SHIPPED)
    assert policy.due(Channel.OPS_EMAIL, queued) == due
    assert policy.due(Channel.EMAIL, queued) == queued  # no digest: at once


@pytest.mark.parametrize(
    ("table", "entry", "message"),
    [
        ("rate_limits", {"whatsapp": 0}, "triggers.toml [rate_limits] whatsapp = 0: expected a number above 0"),
        ("rate_limits", {"whatsapp": "fast"}, "[rate_limits] whatsapp = 'fast': expected a number above 0"),
        ("digest", {"ops_email": -5}, "[digest] ops_email = -5: expected a number above 0"),
        ("digest", {"fax": 5}, "[digest] 'fax': not a channel; expected one of ['email'"),
        ("fallback", {"whatsapp": "sms"}, "[fallback] 'sms': not a channel; expected one of"),
        ("uncapped", ["delivred"], "triggers.toml uncapped: 'delivred' is not a valid Trigger; expected triggers"),
        (
            "triggers",
            {"ops_incident": {"channels": ["ops_email"], "at_once_severity": "urgent"}},
            "[triggers.ops_incident] at_once_severity = 'urgent': not a severity; expected one of ['low'",
        ),
    ],
)
def test_a_bad_entry_is_named_with_its_value_and_what_is_expected(
    table: str, entry: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_policy(SHIPPED | {table: entry})
