"""Promised dates (original vs current, observed transit times) and the rules table."""

from collections import Counter
from datetime import date

import pytest

from tracker.calendar import BusinessCalendar
from tracker.detector import promises
from tracker.detector.config import load_rules, parse_rules
from tracker.detector.facts import Promise
from tracker.vocabulary import Kind, Severity

RULES = load_rules()
SEDEX = RULES.thresholds("correios", "SEDEX")


def test_the_strongest_source_gives_the_current_promise() -> None:
    assert promises.current(date(2027, 3, 5), date(2027, 3, 8), date(2027, 3, 9)) == Promise(date(2027, 3, 5), "store")
    assert promises.current(None, date(2027, 3, 8), date(2027, 3, 9)) == Promise(date(2027, 3, 8), "carrier")
    assert promises.current(None, None, None) == Promise()


def test_the_original_promise_is_kept_unless_a_stronger_source_speaks() -> None:
    told = Promise(date(2027, 3, 5), "carrier")
    assert promises.original(told, Promise(date(2027, 3, 12), "carrier")) == told  # the carrier slipped: still late
    assert promises.original(told, Promise(date(2027, 3, 4), "store")) == Promise(date(2027, 3, 4), "store")
    estimate = Promise(date(2027, 3, 9), "estimate")
    assert promises.original(estimate, told) == told  # nobody was told the estimate
    assert promises.original(Promise(), estimate) == estimate


def test_transit_estimate_is_the_observed_p80_once_enough_deliveries_are_seen() -> None:
    lane = ("correios", "SEDEX", "SP")
    few = promises.TransitTimes({lane: Counter({2: 10})})
    assert few.business_days(lane, SEDEX) == SEDEX.estimate_fallback_business_days == 3
    seen = promises.TransitTimes({lane: Counter({1: 40, 2: 40, 3: 15, 9: 5})})
    assert seen.business_days(lane, SEDEX) == 2  # 80 of 100 within two business days
    # posted on the Friday before Carnaval 2027: two business days later is the Thursday after it
    assert seen.estimate(lane, date(2027, 2, 5), SEDEX, BusinessCalendar()) == date(2027, 2, 11)
    assert seen.estimate(lane, None, SEDEX, BusinessCalendar()) is None


def test_thresholds_merge_carrier_and_service_overrides() -> None:
    pac = RULES.thresholds("correios", "PAC")
    assert pac.stalled_business_days[next(iter(pac.stalled_business_days))] >= 1
    assert pac.estimate_fallback_business_days == 8 and SEDEX.estimate_fallback_business_days == 3
    assert RULES.thresholds("loggi", None) == RULES.default
    assert RULES.kinds[Kind.AWAITING_PICKUP].top_severity is Severity.HIGH


def test_a_mistyped_threshold_is_refused_by_name() -> None:
    data = {
        "thresholds": {**_raw_thresholds()},
        "carriers": {"correios": {"services": {"PAC": {"stalled_days": 3}}}},
        "kinds": {},
    }
    with pytest.raises(
        ValueError, match=r"\[carriers.correios.services.PAC\]: unknown threshold\(s\) \['stalled_days'\]"
    ):
        parse_rules(data)


def test_every_kind_needs_a_policy() -> None:
    with pytest.raises(ValueError, match=r"no \[kinds.delayed\] policy"):
        parse_rules({"thresholds": _raw_thresholds(), "kinds": {}})


def _raw_thresholds() -> dict[str, object]:
    import tomllib

    from tracker.detector.config import RULES_FILE

    return dict(tomllib.loads(RULES_FILE.read_text())["thresholds"])
