"""The sandbox's push side: for carriers that push (Loggi, Melhor Envio), send Zelo the webhooks the carrier
would send, signed as that carrier signs, whenever a parcel shows events it has not pushed yet.

Each pushing carrier's sandbox module gives a :class:`Speaker`: how a list of parcels that moved becomes
request bodies, and how one body is signed with the credentials of the target (``PUT /_sandbox/webhooks/{name}``
or :meth:`Pusher.target`). :meth:`Pusher.flush` (``POST /_sandbox/push``) sends what is due; a push that is
not acknowledged with a 2xx is sent again on the next flush, as a carrier retries.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from carriers.sandbox.model import Seen
from carriers.sandbox.state import SandboxState


@dataclass(frozen=True, slots=True)
class Speaker:
    """One pushing carrier's sandbox voice."""

    bodies: Callable[[Sequence[Seen]], list[tuple[bytes, tuple[str, ...]]]]  # (body, the codes it carries)
    headers: Callable[[bytes, Mapping[str, str]], dict[str, str]]  # signed with the target's credentials


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    credentials: Mapping[str, str]


@dataclass
class PushCounters:
    sent: int = 0
    acknowledged: int = 0
    refused: int = 0  # answered non-2xx or not at all: sent again next flush


@dataclass
class Pusher:
    state: SandboxState
    speakers: Mapping[str, Speaker]
    targets: dict[str, Target] = field(default_factory=dict)
    pushed: dict[str, int] = field(default_factory=dict)  # tracking code → events already acknowledged
    counters: PushCounters = field(default_factory=PushCounters)

    def target(self, carrier: str, url: str, credentials: Mapping[str, str]) -> None:
        if carrier not in self.speakers:
            raise ValueError(f"carrier {carrier!r} does not push; pushing carriers: {', '.join(self.speakers)}")
        self.targets[carrier] = Target(url, dict(credentials))

    def due(self, carrier: str, now: datetime | None = None) -> list[Seen]:
        """The parcels of ``carrier`` showing events not acknowledged yet."""
        moved = []
        for code, parcel in self.state.parcels.items():
            if parcel.carrier != carrier:
                continue
            seen = self.state.seen(carrier, code, now)
            if seen is not None and len(seen.events) > self.pushed.get(code, 0):
                moved.append(seen)
        return moved

    async def flush(self, http: httpx.AsyncClient, now: datetime | None = None) -> dict[str, Any]:
        """Send every due push to its target; what was sent, acknowledged and refused (this flush)."""
        before = PushCounters(**vars(self.counters))
        for carrier, target in self.targets.items():
            speaker = self.speakers[carrier]
            seen = {s.parcel.code: s for s in self.due(carrier, now)}
            for body, codes in speaker.bodies(list(seen.values())):
                self.counters.sent += 1
                try:
                    response = await http.post(
                        target.url, content=body, headers=speaker.headers(body, target.credentials)
                    )
                    ok = 200 <= response.status_code < 300
                except httpx.HTTPError:
                    ok = False
                if not ok:
                    self.counters.refused += 1
                    continue
                self.counters.acknowledged += 1
                for code in codes:
                    self.pushed[code] = len(seen[code].events)
        return {k: getattr(self.counters, k) - getattr(before, k) for k in vars(before)}
