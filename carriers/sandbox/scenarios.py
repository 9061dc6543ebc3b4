"""Pure: load the scenario timelines and render one parcel as the Correios REST JSON seen at an instant.

A parcel's timeline is compiled once (:func:`compile_timeline`): event instants as POSIX seconds plus the
event objects already rendered, newest first. Rendering at ``now`` is then a bisection and a list slice,
which keeps a 50-code tracking request cheap. Every event of a parcel is shifted by
``crc32(code) % 90`` minutes so parcels of one scenario are not identical; the order is kept.

Rendered objects share their nested dicts with the compiled timeline: treat them as read-only (the app
serialises them straight away).
"""

import tomllib
import zlib
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from carriers.correios.s10 import check_code
from carriers.sandbox.model import LOCAL_TZ, SRO_019, SRO_020, Event, Parcel, Scenario
from carriers.sandbox.validation import parse_scenarios

DEFAULT_PATH = Path(__file__).with_name("scenarios.toml")
SHIFT_MINUTES = 90
LOCAL_LENGTH = len("YYYY-MM-DDTHH:MM:SS")
INVALID = "invalid"  # the scenario whose parcels may carry codes that fail the S10 check

__all__ = [
    "DEFAULT_PATH",
    "Event",
    "Parcel",
    "Scenario",
    "Timeline",
    "compile_timeline",
    "load_scenarios",
    "render",
    "render_unregistered",
    "scenario_names",
]


@lru_cache(maxsize=8)
def load_scenarios(path: Path = DEFAULT_PATH) -> Mapping[str, Scenario]:
    """The validated scenarios of a TOML file (cached per path; read-only mapping)."""
    with path.open("rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path.name}: not valid TOML: {exc}") from None
    return MappingProxyType(parse_scenarios(data, path.name))


def scenario_names() -> tuple[str, ...]:
    """The names of the built-in scenarios, in file order."""
    return tuple(load_scenarios())


def local_time(when: datetime) -> str:
    """``when`` as Correios writes times: Brasília local time, ``YYYY-MM-DDTHH:MM:SS``, no offset."""
    return when.astimezone(LOCAL_TZ).isoformat(timespec="seconds")[:LOCAL_LENGTH]


def render_unregistered(code: str) -> dict[str, Any]:
    """What Correios answers for a code it does not know: SRO-019 if the code is not S10, else SRO-020."""
    return {"codObjeto": code, "mensagem": SRO_019 if check_code(code) else SRO_020}


@dataclass(frozen=True, slots=True)
class Timeline:
    """One parcel compiled: event instants (POSIX seconds, oldest first) and its rendered events."""

    code: str
    times: tuple[float, ...]
    newest_first: tuple[dict[str, Any], ...]
    head: dict[str, Any]  # every object field before "eventos"
    message: str | None = None  # a fixed SRO answer (message scenarios, codes failing the S10 check)
    events: tuple[Event, ...] = ()  # the scenario's events, oldest first (``times`` are their instants)

    def seen(self, timestamp: float) -> tuple[tuple[Event, float], ...]:
        """The events visible at POSIX time ``timestamp`` with their instants, oldest first (other carriers'
        renderers speak them in their own words: carriers/sandbox/speak.py)."""
        return tuple(zip(self.events, self.times[: bisect_right(self.times, timestamp)], strict=False))

    def at(self, timestamp: float) -> dict[str, Any]:
        """The Correios object as seen at POSIX time ``timestamp``: events up to it, newest first."""
        if self.message is not None:
            return {"codObjeto": self.code, "mensagem": self.message}
        seen = bisect_right(self.times, timestamp)
        if not seen:
            return {"codObjeto": self.code, "mensagem": SRO_020}
        return {**self.head, "eventos": list(self.newest_first[len(self.times) - seen :])}

    def render(self, now: datetime) -> dict[str, Any]:
        return self.at(now.timestamp())


def compile_timeline(parcel: Parcel, scenario: Scenario) -> Timeline:
    """Precompute everything about ``parcel`` that does not depend on the instant it is looked at."""
    if parcel.carrier == "correios" and check_code(parcel.code):
        return Timeline(parcel.code, (), (), {}, SRO_019)
    if scenario.message is not None:
        return Timeline(parcel.code, (), (), {}, scenario.message)
    shift = timedelta(minutes=zlib.crc32(parcel.code.encode()) % SHIFT_MINUTES)
    origin = parcel.start + shift
    instants = [origin + event.offset for event in scenario.events]
    events = [_event_json(event, when) for event, when in zip(scenario.events, instants, strict=True)]
    promised = parcel.start.astimezone(LOCAL_TZ).date() + timedelta(days=scenario.promised_days)
    head = {
        "codObjeto": parcel.code,
        "tipoPostal": {"sigla": parcel.code[:2], "descricao": "SEDEX", "categoria": "SEDEX"},
        "dtPrevista": f"{promised.isoformat()}T23:59:59",
        "modalidade": "F",
    }
    times = tuple(when.timestamp() for when in instants)
    return Timeline(parcel.code, times, tuple(reversed(events)), head, events=scenario.events)


def _event_json(event: Event, when: datetime) -> dict[str, Any]:
    rendered = {**event.before, "dtHrCriado": local_time(when), **event.after}
    if event.pickup_days is not None:
        rendered["dtLimiteRetirada"] = local_time(when + timedelta(days=event.pickup_days))
    return rendered


@lru_cache(maxsize=65_536)
def _default_timeline(parcel: Parcel) -> Timeline:
    return compile_timeline(parcel, scenario_of(parcel, load_scenarios()))


def scenario_of(parcel: Parcel, scenarios: Mapping[str, Scenario]) -> Scenario:
    """The parcel's scenario, or a ValueError naming the unknown scenario and the known ones."""
    try:
        return scenarios[parcel.scenario]
    except KeyError:
        known = ", ".join(scenarios)
        raise ValueError(f"parcel {parcel.code}: unknown scenario {parcel.scenario!r} (known: {known})") from None


def render(parcel: Parcel, now: datetime, scenarios: Mapping[str, Scenario] | None = None) -> dict[str, Any]:
    """The Correios JSON object for ``parcel`` as seen at ``now`` (built-in scenarios unless given)."""
    if scenarios is None:
        return _default_timeline(parcel).render(now)
    return compile_timeline(parcel, scenario_of(parcel, scenarios)).render(now)
