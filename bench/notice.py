"""What the adaptive poll schedule buys, on a simulated clock: how long after a carrier scan Zelo notices it, and
how many carrier calls that costs, against a fixed two-hour poller (what peers do). Used by ``bench.scale``.

Each sampled parcel plays a sandbox scenario (every one but the SRO-message ones), posted at a working hour of
Brasília (09:00 to 18:00) on one of 14 days, so its scans fall at the times of day the scenario gives them. The
adaptive poller polls at registration (posting), then whenever ``tracker.polling.cadence.next_poll`` says,
given the status Zelo's Correios parser reads from what the sandbox shows at that instant; the fixed poller
polls every two hours and stops at a final status, as peers do. Both stop at the same horizon: two days after
the parcel's last scan. A scan is noticed at the first poll at or after it. The customer message is queued in
the same transaction as the poll that stores the event (the detector's listeners write the outbox row), so its
queueing time is the notice time; a WhatsApp message queued in quiet hours (21:00 to 08:00 at the destination)
is sent at their end, reported apart. Calls are codes asked per shipment per day of its journey (a Correios
request carries up to 50).

    python -m bench.notice [--sample 2000]
"""

import argparse
import json
import random
import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from carriers.base import Status
from carriers.correios.parse import parse
from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, scenario_names
from carriers.sandbox.model import LOCAL_TZ
from carriers.sandbox.scenarios import Timeline, compile_timeline, load_scenarios
from notifier.config import load_policy
from notifier.holds import quiet_until
from notifier.vocabulary import Channel
from tracker.polling.cadence import next_poll

FIRST_DAY = date(2026, 11, 2)  # a Monday
DAYS = 14
FIXED = timedelta(hours=2)
KINDS = {Status.OUT_FOR_DELIVERY: "out_for_delivery", Status.DELIVERY_FAILED: "failed_attempt", Status.LOST: "lost"}
SCENARIOS = [s for s in scenario_names() if s not in ("not_found", "invalid")]
Seen = tuple[Status, date | None]  # what a poll reads: the status and the carrier's expected date


def sample_parcels(n: int, seed: int = 7) -> list[tuple[Parcel, Timeline]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        posted = datetime.combine(day, time(9), LOCAL_TZ) + timedelta(minutes=rng.uniform(0, 540))
        parcel = Parcel(make_code("NS", i), SCENARIOS[i % len(SCENARIOS)], posted.astimezone(UTC))
        out.append((parcel, compile_timeline(parcel, load_scenarios()[parcel.scenario])))
    return out


def reader(timeline: Timeline) -> Callable[[int], Seen]:
    """What Zelo reads from the parcel once its first ``k`` scans are visible (Zelo's own Correios parser)."""

    @cache
    def seen(k: int) -> Seen:
        if k == 0:
            return Status.PENDING, None
        [result] = parse({"objetos": [timeline.at(timeline.times[k - 1])]})
        return result.status, result.expected_delivery

    return seen


def scans(timeline: Timeline, seen: Callable[[int], Seen]) -> list[tuple[int, str]]:
    """The scans that move the parcel into a watched status: (index, kind)."""
    out = []
    for k in range(1, len(timeline.times) + 1):
        status = seen(k)[0]
        if status in KINDS and status != seen(k - 1)[0]:
            out.append((k - 1, KINDS[status]))
    return out


def adaptive_polls(parcel: Parcel, timeline: Timeline, seen: Callable[[int], Seen], horizon: datetime) -> list[float]:
    rng = random.Random(parcel.code)
    at: datetime | None = parcel.start
    polls: list[float] = []
    last: tuple[Status, int] | None = None
    while at is not None and at <= horizon:
        polls.append(at.timestamp())
        k = bisect_right(timeline.times, at.timestamp())
        status, expected = seen(k)
        became_final = status.is_final and last != (status, k)
        last = (status, k)
        nxt = next_poll(
            status=status, now=at, tracked_since=parcel.start, expected=expected, became_final=became_final, rng=rng
        )
        at = nxt.at
    return polls


def fixed_polls(parcel: Parcel, timeline: Timeline, seen: Callable[[int], Seen], horizon: datetime) -> list[float]:
    at, polls = parcel.start, []
    while at <= horizon:
        polls.append(at.timestamp())
        if seen(bisect_right(timeline.times, at.timestamp()))[0].is_final:
            break
        at += FIXED
    return polls


def whatsapp_sent(noticed: float, uf: str) -> float:
    window = load_policy().quiet_hours.get(Channel.WHATSAPP)
    when = datetime.fromtimestamp(noticed, UTC)
    held = quiet_until(window, when, uf)
    return held.timestamp() if held is not None else noticed


def minutes(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if q == 0.5:
        return round(statistics.median(values) / 60, 1)
    return round(statistics.quantiles(values, n=10, method="inclusive")[8] / 60, 1)


def simulate(sample: int) -> dict[str, Any]:
    delays: dict[str, dict[str, list[float]]] = {"adaptive": defaultdict(list), "fixed2h": defaultdict(list)}
    sent: dict[str, list[float]] = defaultdict(list)
    missed: dict[str, int] = defaultdict(int)
    calls = {"adaptive": 0, "fixed2h": 0}
    days = 0.0
    for parcel, timeline in sample_parcels(sample):
        seen = reader(timeline)
        horizon = datetime.fromtimestamp(timeline.times[-1], UTC) + timedelta(days=2)
        days += (horizon - parcel.start).total_seconds() / 86400
        uf = load_scenarios()[parcel.scenario].events[-1].uf
        for policy, polls in (
            ("adaptive", adaptive_polls(parcel, timeline, seen, horizon)),
            ("fixed2h", fixed_polls(parcel, timeline, seen, horizon)),
        ):
            calls[policy] += len(polls)
            for index, kind in scans(timeline, seen):
                scanned = timeline.times[index]
                after = bisect_right(polls, scanned - 1e-6)  # the first poll at or after the scan
                if after == len(polls):
                    missed[f"{policy}:{kind}"] += 1
                    continue
                delays[policy][kind].append(polls[after] - scanned)
                delays[policy]["all"].append(polls[after] - scanned)
                if policy == "adaptive":
                    sent[kind].append(whatsapp_sent(polls[after], uf) - scanned)
                    sent["all"].append(whatsapp_sent(polls[after], uf) - scanned)
    a, f = delays["adaptive"], delays["fixed2h"]
    by_kind = {
        kind: {
            "scans": len(a[kind]),
            "median_notice_minutes": minutes(a[kind], 0.5),
            "p90_notice_minutes": minutes(a[kind], 0.9),
            "fixed2h_median_notice_minutes": minutes(f[kind], 0.5),
            "fixed2h_p90_notice_minutes": minutes(f[kind], 0.9),
            "median_whatsapp_sent_minutes": minutes(sent[kind], 0.5),
            "p90_whatsapp_sent_minutes": minutes(sent[kind], 0.9),
        }
        for kind in (*KINDS.values(), "all")
    }
    return {
        "sample": sample,
        "median_notice_minutes": by_kind["all"]["median_notice_minutes"],
        "p90_notice_minutes": by_kind["all"]["p90_notice_minutes"],
        "fixed2h_median_notice_minutes": by_kind["all"]["fixed2h_median_notice_minutes"],
        "fixed2h_p90_notice_minutes": by_kind["all"]["fixed2h_p90_notice_minutes"],
        "calls_per_shipment_day": round(calls["adaptive"] / days, 2),
        "fixed2h_calls_per_shipment_day": round(calls["fixed2h"] / days, 2),
        "notice_by_kind": by_kind,
        "scans_never_noticed": dict(missed),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=2000)
    print(json.dumps(simulate(parser.parse_args().sample)))
