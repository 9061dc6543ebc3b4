"""A scriptable in-code carrier for poller tests: answers whatever the test sets per tracking code."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from carriers.base import AccountConfig, CarrierError, CarrierSpec, Now, Sleep, Status, TrackingEvent, TrackingResult


@dataclass
class FakeCarrier:
    answers: dict[str, TrackingResult] = field(default_factory=dict)
    fail_with: CarrierError | None = None
    calls: list[list[str]] = field(default_factory=list)
    batch_limit: int = 3
    requests_per_second: float | None = None  # the spec's rate limit
    called_at: list[datetime] = field(default_factory=list)  # on the poller's clock, one per call
    now: Now | None = None
    answer_when: asyncio.Event | None = None  # set: each call waits for it before answering (a slow carrier)
    in_flight: int = 0
    peak_in_flight: int = 0

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        self.calls.append(list(codes))
        if self.now is not None:
            self.called_at.append(self.now())
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.answer_when is not None:
                await self.answer_when.wait()
            if self.fail_with is not None:
                raise self.fail_with
            return [self.answers[c] for c in codes if c in self.answers]
        finally:
            self.in_flight -= 1

    def spec(self) -> CarrierSpec:
        def make(account: AccountConfig, http: httpx.AsyncClient, now: Now, sleep: Sleep) -> "FakeCarrier":
            self.now = now
            return self

        return CarrierSpec(
            name="fake",
            title="Fake",
            make_tracker=make,
            parse=lambda payload: [],
            check_code=lambda code: None if code.startswith("FK") else f"{code!r} is not a fake code",
            credential_fields=("key",),
            default_base_url="http://fake.test",
            requests_per_second=self.requests_per_second,
        )


def events(start: datetime, *steps: tuple[float, str, Status]) -> tuple[TrackingEvent, ...]:
    """Events at ``start + hours``: (hours, code, status)."""
    return tuple(
        TrackingEvent(occurred_at=start + timedelta(hours=h), code=code, status=status, reason=None, description=code)
        for h, code, status in steps
    )
