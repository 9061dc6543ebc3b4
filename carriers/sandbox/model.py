"""The sandbox's data: scenario events, scenarios, parcels, and the fixed Correios texts and time zone."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("America/Sao_Paulo")  # Correios REST times are local to it, without an offset
SRO_020 = "SRO-020: Objeto não encontrado na base de dados dos Correios."
SRO_019 = "SRO-019: Objeto inválido"
MESSAGES = {"SRO-020": SRO_020, "SRO-019": SRO_019}
DEFAULT_UNIT = "Unidade de Tratamento"


@dataclass(frozen=True, slots=True)
class Event:
    """One scanned event of a scenario, ``at_h`` hours after the parcel's start."""

    at_h: float
    type: str  # REST ``codigo``: PO, RO, DO, OEC, BDE, ...
    status: str  # REST ``tipo``: two digits, "01"
    description: str
    city: str
    uf: str
    detail: str | None = None
    pickup_days: float | None = None  # dtLimiteRetirada = event time + this many days
    unit: str = DEFAULT_UNIT
    # Derived, shared by every parcel: the offset from the start, and the event's JSON without
    # dtHrCriado split around it (key order as Correios sends it).
    offset: timedelta = field(init=False, repr=False, compare=False, hash=False)
    before: dict[str, Any] = field(init=False, repr=False, compare=False, hash=False)
    after: dict[str, Any] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        after: dict[str, Any] = {"descricao": self.description}
        if self.detail is not None:
            after["detalhe"] = self.detail
        after["unidade"] = {"tipo": self.unit, "endereco": {"cidade": self.city, "uf": self.uf}}
        object.__setattr__(self, "offset", timedelta(hours=self.at_h))
        object.__setattr__(self, "before", {"codigo": self.type, "tipo": self.status})
        object.__setattr__(self, "after", after)


@dataclass(frozen=True, slots=True)
class ClaimPlan:
    """How the sandbox answers a claim filed for a parcel of the scenario (``claim`` in ``scenarios.toml``)."""

    verdict: str = "denied"  # "upheld" | "denied"
    answer_days: int = 5  # business days (Mon–Fri) from filing to the answer
    paid: Decimal | None = None  # R$ paid when upheld (None: nothing is paid)
    paid_days: int = 10  # business days from the answer to the payment
    reactivated_verdict: str = "upheld"  # the answer after a reactivation
    message: str = ""  # Mensagem Última Resposta (default: a text per verdict)


DEFAULT_CLAIM = ClaimPlan()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named story: events in time order, or (``message``) a fixed SRO-019/SRO-020 answer."""

    name: str
    promised_days: int
    events: tuple[Event, ...]
    message: str | None = None  # the full SRO text when the scenario never has events
    incidents: tuple[str, ...] = ()  # the incident kinds a detector should raise for it, and no others
    claim: ClaimPlan = DEFAULT_CLAIM  # how a claim filed for it is answered


@dataclass(frozen=True, slots=True)
class Parcel:
    """A tracking code of ``carrier`` playing ``scenario`` from ``start`` (timezone-aware) on."""

    code: str
    scenario: str
    start: datetime
    carrier: str = "correios"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError(f"parcel {self.code}: start must be timezone-aware, got {self.start.isoformat()}")


@dataclass(frozen=True, slots=True)
class Seen:
    """A parcel as it stands at an instant: the scenario's events visible then, with their instants (UTC),
    oldest first, and the promised date (``promised_days`` after the start, local date)."""

    parcel: Parcel
    scenario: Scenario
    events: tuple[tuple[Event, datetime], ...]
    promised: date
