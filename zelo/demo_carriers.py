"""The demo's carriers (``demo_carriers.toml``): how many parcels each ships, with which scenarios, and which faults
its sandbox API shows; and the accounts and shipments those parcels become."""

import random
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from carriers.sandbox import Parcel
from carriers.sandbox.accounts import CARRIERS, credentials, promised_date, tracking_code
from carriers.sandbox.scenarios import load_scenarios
from tracker.polling.accounts import add_account
from tracker.shipments import NewShipment, register
from tracker.vault import Vault

PATH = Path(__file__).with_name("demo_carriers.toml")
ORDER_LEAD = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class DemoCarrier:
    name: str
    behaviour: str
    share: int
    scenarios: tuple[str, ...]  # each as many times as its weight, shuffled once: parcels take them in turn
    services: tuple[str, ...]
    error_rate: float = 0.0


def load(path: Path = PATH, rng: random.Random | None = None) -> tuple[DemoCarrier, ...]:
    with path.open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    rng = rng or random.Random(0)
    known = set(load_scenarios())
    out = []
    for name, table in data.items():
        if name not in CARRIERS:
            raise ValueError(f"{path.name}: [{name}] is not a carrier the sandbox plays ({', '.join(CARRIERS)})")
        weights: dict[str, int] = table["scenarios"]
        unknown = sorted(set(weights) - known)
        if unknown:
            raise ValueError(f"{path.name}: [{name}] unknown scenarios {', '.join(unknown)}")
        turns = [s for s, w in weights.items() for _ in range(int(w))]
        rng.shuffle(turns)
        out.append(
            DemoCarrier(
                name,
                str(table["behaviour"]),
                int(table["share"]),
                tuple(turns),
                tuple(table["services"]),
                float(table.get("error_rate", 0.0)),
            )
        )
    return tuple(out)


def plan(carriers: tuple[DemoCarrier, ...], shipments: int, start: datetime, rng: random.Random) -> list[Parcel]:
    """``shipments`` parcels, dealt to the carriers by share, each carrier's taking its scenarios in turn and
    posted at some hour of the first five days, never in the first ``ORDER_LEAD`` (an order is created, paid and
    labelled first: Melhor Envio reports those too)."""
    dealer = [c for c in carriers for _ in range(c.share)]
    taken = dict.fromkeys((c.name for c in carriers), 0)
    parcels = []
    for i in range(shipments):
        carrier = dealer[i % len(dealer)]
        n = taken[carrier.name]
        taken[carrier.name] += 1
        when = start + ORDER_LEAD + timedelta(days=rng.randrange(0, 5), hours=rng.randrange(1, 9))
        code = tracking_code(carrier.name, i)
        parcels.append(Parcel(code, carrier.scenarios[n % len(carrier.scenarios)], when, carrier.name))
    return parcels


async def track_parcels(
    session: AsyncSession,
    vault: Vault,
    *,
    name: str,
    base_url: str,
    parcels: Sequence[Parcel],
    now: datetime,
    services: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int]:
    """One account per carrier of ``parcels`` on the sandbox at ``base_url`` (``<name>-<carrier>``) and one shipment
    per parcel, as a store's ERP would send it (by the carrier's ``services`` in turn; Correios: PAC and SEDEX); the
    account ids by carrier."""
    services = services or {}
    accounts: dict[str, int] = {}
    for carrier in dict.fromkeys(p.carrier for p in parcels):
        account = await add_account(
            session,
            vault,
            carrier=carrier,
            name=f"{name}-{carrier}",
            base_url=base_url,
            now=now,
            credentials=credentials(carrier, name),
        )
        accounts[carrier] = account.id
    items = [
        NewShipment(
            carrier=p.carrier,
            carrier_account_id=accounts[p.carrier],
            tracking_code=p.code,
            external_id=f"PED-{i + 1:05d}",
            order_number=f"{i + 1:05d}",
            shipped_at=p.start,
            promised_delivery_date=promised_date(p),  # what the store told the customer
            service=_service(services.get(p.carrier, ("PAC", "SEDEX", "SEDEX")), i),
            customer_name=f"Cliente {i + 1}",
            customer_email=f"cliente{i + 1}@example.com",
            customer_phone=f"+55119{i + 1:08d}",
            customer_consent=i % 3 != 2,  # a third did not agree to WhatsApp
            declared_value=Decimal(120 + (i * 37) % 400),  # the NF-e's value, which a loss claim is paid on
            shipping_cost=Decimal("18.90") if i % 3 == 0 else Decimal("32.50"),
        )
        for i, p in enumerate(parcels)
    ]
    await register(session, items, now)
    return accounts


def _service(names: Sequence[str], i: int) -> str:
    return names[i % len(names)]
