"""Claim policies (``policies.toml``): per carrier × service, what is claimable, its window and amount rule."""

import tomllib
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Literal

from carriers.base import Manifestation
from claims.vocabulary import ClaimType
from tracker.vocabulary import Kind

POLICIES_FILE = Path(__file__).with_name("policies.toml")
_MONEY = ("automatic_indemnity", "declared_value_cap")


@dataclass(frozen=True, slots=True)
class Claimable:
    """What an incident kind is claimed as."""

    claim: ClaimType
    motivo: int
    manifestation: Manifestation


@dataclass(frozen=True, slots=True)
class Policy:
    filer: str
    filing: Literal["auto", "approval"]
    window_days: int
    window_days_by_motivo: dict[int, int]
    opens_after_business_days: int
    answer_business_days: int
    reactivations: int
    automatic_indemnity: Decimal
    declared_value_cap: Decimal
    refund_postage_with_indemnity: bool
    delay_tiers: tuple[tuple[int, int], ...]  # (up to N late, % of postage)
    delay_tier_unit: Literal["business_days", "minutes"]
    deadline_time: str  # "HH:MM": the hour a same-day service promises (minutes tiers)
    claim_email: str

    def window_for(self, motivo: int) -> int:
        return self.window_days_by_motivo.get(motivo, self.window_days)


class PolicyError(ValueError):
    pass


@dataclass
class Policies:
    default: Policy
    overrides: dict[tuple[str, str | None], dict[str, Any]]
    kinds: dict[Kind, Claimable]

    _merged: dict[tuple[str, str | None], Policy] = field(default_factory=dict, init=False, repr=False)

    def for_shipment(self, carrier: str, service: str | None) -> Policy:
        """The default, then the carrier's overrides, then its service's; merged once per pair (a service without
        overrides of its own shares its carrier's entry: no more entries than carriers and services in the file)."""
        pair = (carrier, service if (carrier, service) in self.overrides else None)
        merged = self._merged.get(pair)
        if merged is None:
            merged = self.default
            for key in dict.fromkeys(((carrier, None), pair)):
                if key in self.overrides:
                    merged = replace(merged, **_policy_fields(self.overrides[key], f"carriers.{key[0]}"))
            self._merged[pair] = merged
        return merged

    def claimable(self, kind: Kind | str) -> Claimable | None:
        """What ``kind`` is claimed as; None when it is not claimable."""
        try:
            return self.kinds.get(Kind(kind))
        except ValueError:
            return None


@cache
def load_policies(path: Path = POLICIES_FILE) -> Policies:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    default = Policy(**_policy_fields(raw["default"], "default", complete=True))
    overrides: dict[tuple[str, str | None], dict[str, Any]] = {}
    for carrier, table in raw.get("carriers", {}).items():
        services = table.pop("services", {})
        overrides[(carrier, None)] = table
        for service, values in services.items():
            overrides[(carrier, service)] = values
    for (carrier, _), values in overrides.items():
        _policy_fields(values, f"carriers.{carrier}")  # fail at load, not at the first claim
    kinds = {Kind(k): _claimable(k, v) for k, v in raw.get("kinds", {}).items()}
    return Policies(default, overrides, kinds)


def _claimable(kind: str, raw: dict[str, Any]) -> Claimable:
    try:
        return Claimable(ClaimType(raw["claim"]), int(raw["motivo"]), Manifestation(raw["manifestation"]))
    except (KeyError, ValueError) as e:
        raise PolicyError(f"kinds.{kind}: expected claim, motivo and manifestation (R or I): {e}") from None


def _policy_fields(raw: dict[str, Any], where: str, *, complete: bool = False) -> dict[str, Any]:
    names = {f.name for f in fields(Policy)}
    unknown = set(raw) - names
    if unknown:
        raise PolicyError(f"{where}: unknown policy fields {sorted(unknown)}; expected some of {sorted(names)}")
    if complete and names - set(raw):
        raise PolicyError(f"{where}: missing policy fields {sorted(names - set(raw))}")
    out = dict(raw)
    for name in _MONEY:
        if name in out:
            try:
                out[name] = Decimal(str(out[name]))
            except InvalidOperation:
                raise PolicyError(f'{where}.{name}: {out[name]!r} is not an amount in R$ (e.g. "25.63")') from None
    if "delay_tiers" in out:
        out["delay_tiers"] = tuple((int(upto), int(pct)) for upto, pct in out["delay_tiers"])
    if "window_days_by_motivo" in out:
        out["window_days_by_motivo"] = {int(k): int(v) for k, v in out["window_days_by_motivo"].items()}
    if out.get("filing", "auto") not in ("auto", "approval"):
        raise PolicyError(f"{where}.filing: {out['filing']!r}; expected auto or approval")
    return out
