"""What a test or the demo needs to ship through each carrier the sandbox plays: a tracking code in that carrier's
own format, account credentials the sandbox accepts (with push credentials for the carriers that push), the date
the store promised, and the incidents a scenario should raise as that carrier tells it (``carrier_incidents.toml``)."""

import tomllib
import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType

from carriers.correios.s10 import make_code
from carriers.sandbox.model import LOCAL_TZ, Parcel
from carriers.sandbox.scenarios import load_scenarios

CARRIERS = ("correios", "jadlog", "totalexpress", "loggi", "melhorenvio")
CORREIOS_PREFIXES = ("SS", "PN", "QB", "OY")
INCIDENTS_PATH = Path(__file__).with_name("carrier_incidents.toml")


def tracking_code(carrier: str, n: int) -> str:
    """The ``n``-th tracking code of ``carrier`` (valid in its format; the same ``n`` gives the same code)."""
    match carrier:
        case "correios":
            return make_code(CORREIOS_PREFIXES[n % len(CORREIOS_PREFIXES)], 10_000 + n)
        case "jadlog":
            return f"{10**13 + n:014d}"  # shipmentId: 14 digits
        case "totalexpress":
            return f"TE{n:010d}"  # AWB
        case "loggi":
            return f"SH{n:010d}LG"
        case "melhorenvio":
            return str(uuid.UUID(int=n + 1)).upper()  # the Melhor Envio order id
    raise ValueError(f"the sandbox plays no carrier {carrier!r}; it plays {', '.join(CARRIERS)}")


def credentials(carrier: str, name: str) -> dict[str, str]:
    """Credentials the sandbox accepts for an account ``name`` of ``carrier`` (push credentials included)."""
    match carrier:
        case "correios":
            return {"user": name, "access_code": name, "posting_card": "0067599079"}
        case "jadlog":
            return {"token": f"{name}-token"}
        case "totalexpress":
            return {"user": name, "password": f"{name}-senha"}
        case "loggi":
            return {
                "client_id": name,
                "client_secret": f"{name}-secret",
                "company_id": "1",
                "webhook_user": name,
                "webhook_password": f"{name}-webhook",
            }
        case "melhorenvio":
            return {"token": f"{name}-token", "contact_email": "ti@loja.example", "app_secret": f"{name}-app"}
    raise ValueError(f"the sandbox plays no carrier {carrier!r}; it plays {', '.join(CARRIERS)}")


def promised_date(parcel: Parcel) -> date:
    """The date the store promised the customer: what the carrier quoted for the parcel's scenario (the ERP sends
    it with the shipment)."""
    return parcel.start.astimezone(LOCAL_TZ).date() + timedelta(days=load_scenarios()[parcel.scenario].promised_days)


def expected_incidents(carrier: str, scenario: str) -> frozenset[str]:
    """The incident kinds the detector should raise for a parcel of ``scenario`` tracked through ``carrier``."""
    differs = _differences().get(carrier, {})
    return frozenset(differs[scenario] if scenario in differs else load_scenarios()[scenario].incidents)


@cache
def _differences() -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    with INCIDENTS_PATH.open("rb") as f:
        data = tomllib.load(f)
    known, scenarios = set(CARRIERS), set(load_scenarios())
    for carrier, table in data.items():
        if carrier not in known or not isinstance(table, dict):
            raise ValueError(f"{INCIDENTS_PATH.name}: [{carrier}] is not a carrier the sandbox plays")
        for scenario, kinds in table.items():
            if scenario not in scenarios or not isinstance(kinds, list):
                raise ValueError(f"{INCIDENTS_PATH.name}: [{carrier}] {scenario}: expected a scenario = [kinds]")
    return MappingProxyType({c: {s: tuple(k) for s, k in t.items()} for c, t in data.items()})
