"""The sandbox's mutable state: clock, registered parcels, issued tokens, fault settings and counters.

Time has two sources on purpose: parcel timelines, outages and token expiry follow the sandbox clock
(which tests move by hand), while the rate limiter measures REAL monotonic time, as a gateway would.
"""

import secrets
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from carriers.base.registry import get as get_carrier
from carriers.correios.s10 import check_code
from carriers.sandbox.model import LOCAL_TZ, SRO_019, Parcel, Scenario, Seen
from carriers.sandbox.pi import Manifestacao
from carriers.sandbox.scenarios import (
    INVALID,
    Timeline,
    compile_timeline,
    load_scenarios,
    render_unregistered,
    scenario_of,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SandboxClock:
    """A clock that stands still until ``set`` (or ``advance``) moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _aware(start or datetime.now(UTC).replace(microsecond=0), "clock start")

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = _aware(when, "clock time")

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


@dataclass
class Faults:
    """Failure injection; every field may be changed at any time."""

    outages: list[tuple[datetime, datetime]] = field(default_factory=list)  # [from, to) on the sandbox clock
    rate_limit_per_s: float | None = None  # token bucket per bearer token, burst = rate (at least 1)
    latency_ms: int = 0  # added before every tracking answer
    token_ttl_s: int = 86_400  # token lifetime on the sandbox clock
    pi_error_rate: float = 0.0  # share of cadastra objects answered 999 (temporary error), drawn from pi_seed
    pi_seed: int = 0  # the seed of that draw: the same requests in the same order meet the same 999s
    pi_blocked_motivos: tuple[int, ...] = ()  # motivos answered 262 (not allowed by web service)
    error_rate: dict[str, float] = field(default_factory=dict)  # per carrier: share of calls answered 503

    def in_outage(self, now: datetime) -> bool:
        return any(start <= now < end for start, end in self.outages)


@dataclass
class Counters:
    requests: Counter[str] = field(default_factory=Counter)  # by endpoint name
    statuses: Counter[int] = field(default_factory=Counter)  # by HTTP status code
    objects_returned: int = 0
    rate_limited: int = 0
    track_started: list[float] = field(default_factory=list)  # time.monotonic() as each tracking request came in


@dataclass
class RequestLog:
    """Correios tracking requests as they arrived, while recording (``/_sandbox/requests``): each one's wall-clock
    instant and status, and how often each code was answered (200s only), for a benchmark to check a rate
    limit and that no code was asked twice."""

    times: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    asked: Counter[str] = field(default_factory=Counter)

    def add(self, at: float, status: int, codes: Sequence[str]) -> None:
        self.times.append(at)
        self.statuses.append(status)
        if status == 200:
            self.asked.update(codes)

    def summary(self) -> dict[str, Any]:
        return {
            "times": self.times,
            "statuses": self.statuses,
            "codes": len(self.asked),
            "codes_asked_twice": sum(1 for n in self.asked.values() if n > 1),
        }


class SandboxState:
    """Everything the sandbox app reads and changes; usable directly from Python in-process."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        faults: Faults | None = None,
        scenarios: Mapping[str, Scenario] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SandboxClock()
        self.faults = faults if faults is not None else Faults()
        self.scenarios = scenarios if scenarios is not None else load_scenarios()
        self.parcels: dict[str, Parcel] = {}
        self.timelines: dict[str, Timeline] = {}
        self.tokens: dict[str, datetime] = {}  # token → expiry
        self.counters = Counters()
        self._buckets: dict[str, tuple[float, float]] = {}  # token → (level, monotonic time)
        self._monotonic = monotonic
        self.claims: dict[str, Manifestacao] = {}  # pedido-informacao: protocol → claim
        self.claims_by_object: dict[tuple[str, int], str] = {}  # (tracking code, motivo) → protocol
        self.object_claims: dict[str, list[str]] = {}  # tracking code → its protocols, in filing order
        self._protocols = 100_000_000
        self._lots = 0
        self.pi_attempts: Counter[tuple[str, int]] = Counter()  # cadastra attempts per (tracking code, motivo)
        self._draws: Counter[str] = Counter()  # requests per carrier, for Faults.error_rate
        self.log: RequestLog | None = None  # set while recording tracking requests (benchmarks)

    def pi_temporary_error(self, code: str, motivo: int) -> bool:
        """Whether this attempt at (code, motivo) meets a 999: a draw from (seed, code, motivo, attempt number),
        so a run repeats whatever the order of requests, and a later attempt may pass."""
        self.pi_attempts[(code, motivo)] += 1
        rate = self.faults.pi_error_rate
        if rate <= 0:
            return False
        key = f"{self.faults.pi_seed}:{code}:{motivo}:{self.pi_attempts[(code, motivo)]}"
        return zlib.crc32(key.encode()) / 2**32 < rate

    def next_protocol(self) -> str:
        self._protocols += 1
        return str(self._protocols)

    def next_lot(self) -> str:
        self._lots += 1
        return f"{self._lots:07d}"

    def register(self, parcels: Iterable[Parcel]) -> int:
        """Register (or replace) parcels; all or nothing: a ValueError leaves the state unchanged."""
        compiled: list[tuple[Parcel, Timeline]] = []
        for parcel in parcels:
            timeline = compile_timeline(parcel, scenario_of(parcel, self.scenarios))
            if timeline.message == SRO_019 and parcel.scenario != INVALID:
                raise ValueError(
                    f"{check_code(parcel.code)} (only scenario {INVALID!r} takes codes that are not valid S10)"
                )
            if parcel.carrier != "correios":
                problem = get_carrier(parcel.carrier).check_code(parcel.code)
                if problem and parcel.scenario != INVALID:
                    raise ValueError(f"{problem} (only scenario {INVALID!r} takes codes its carrier refuses)")
            compiled.append((parcel, timeline))
        for parcel, timeline in compiled:
            self.parcels[parcel.code] = parcel
            self.timelines[parcel.code] = timeline
        return len(compiled)

    def render(self, codes: Sequence[str], now: datetime | None = None) -> list[dict[str, Any]]:
        """The Correios objects for ``codes`` at ``now`` (default: the clock), in the same order."""
        timestamp = (now or self.clock.now()).timestamp()
        timelines, parcels = self.timelines, self.parcels
        objects = []
        for code in codes:
            timeline = timelines.get(code)
            if timeline is None or parcels[code].carrier != "correios":
                objects.append(render_unregistered(code))
            else:
                objects.append(timeline.at(timestamp))
        return objects

    def seen(self, carrier: str, code: str, now: datetime | None = None) -> "Seen | None":
        """What ``carrier``'s parcel ``code`` shows at ``now`` (default: the clock), or None if the sandbox
        has no such parcel of that carrier: for the other carriers' renderers (carriers/sandbox/speak.py)."""
        parcel = self.parcels.get(code)
        if parcel is None or parcel.carrier != carrier:
            return None
        when = now or self.clock.now()
        scenario = self.scenarios[parcel.scenario]
        events = tuple(
            (event, datetime.fromtimestamp(at, UTC)) for event, at in self.timelines[code].seen(when.timestamp())
        )
        promised = parcel.start.astimezone(LOCAL_TZ).date() + timedelta(days=scenario.promised_days)
        return Seen(parcel, scenario, events, promised)

    def flaky(self, carrier: str) -> bool:
        """Whether this request to ``carrier`` meets an injected 503 (``Faults.error_rate``): a draw from the
        carrier's own request count, so a run repeats."""
        rate = self.faults.error_rate.get(carrier, 0.0)
        self._draws[carrier] += 1
        if rate <= 0:
            return False
        return zlib.crc32(f"{self.faults.pi_seed}:{carrier}:{self._draws[carrier]}".encode()) / 2**32 < rate

    def set_clock(self, when: datetime) -> None:
        """Move the clock; TypeError if the clock given at construction cannot be set."""
        setter = getattr(self.clock, "set", None)
        if not callable(setter):
            raise TypeError(f"the sandbox clock ({type(self.clock).__name__}) has no set()")
        setter(_aware(when, "clock time"))

    def issue_token(self) -> tuple[str, datetime, datetime]:
        """A new bearer token: (token, issued at, expires at) on the sandbox clock."""
        issued = self.clock.now()
        expires = issued + timedelta(seconds=self.faults.token_ttl_s)
        token = secrets.token_urlsafe(32)
        self.tokens[token] = expires
        return token, issued, expires

    def token_valid(self, token: str | None) -> bool:
        expires = self.tokens.get(token) if token else None
        return expires is not None and self.clock.now() < expires

    def admit(self, token: str) -> int | None:
        """Take one request from the token's bucket: None if admitted, else the rejection's ordinal (1, 2, …)."""
        rate = self.faults.rate_limit_per_s
        if rate is None:
            return None
        capacity = max(rate, 1.0)
        now = self._monotonic()
        level, last = self._buckets.get(token, (capacity, now))
        level = min(capacity, level + (now - last) * rate)
        if level >= 1.0:
            self._buckets[token] = (level - 1.0, now)
            return None
        self._buckets[token] = (level, now)
        self.counters.rate_limited += 1
        return self.counters.rate_limited

    def count(self, endpoint: str, status: int) -> None:
        self.counters.requests[endpoint] += 1
        self.counters.statuses[status] += 1

    def stats(self) -> dict[str, Any]:
        """The counters as JSON-ready data."""
        c = self.counters
        return {
            "requests": dict(sorted(c.requests.items())),
            "statuses": {str(k): v for k, v in sorted(c.statuses.items())},
            "objects_returned": c.objects_returned,
            "rate_limited": c.rate_limited,
            "parcels": len(self.parcels),
            "claims": len(self.claims),
            "tokens": len(self.tokens),
            "now": self.clock.now().isoformat(),
        }


def _aware(when: datetime, what: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {when.isoformat()}")
    return when
