"""Carrier registry: entry points in the ``zelo.carriers`` group plus in-code registrations (tests)."""

from functools import cache
from importlib.metadata import entry_points

from carriers.base.adapter import CarrierSpec

GROUP = "zelo.carriers"
_registered: dict[str, CarrierSpec] = {}


class UnknownCarrier(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown carrier {name!r}; expected one of: {', '.join(known) or '(none)'}")


def register(spec: CarrierSpec) -> None:
    """Register a carrier in code (tests, or an application embedding Zelo)."""
    _registered[spec.name] = spec


def unregister(name: str) -> None:
    _registered.pop(name, None)


@cache
def _installed() -> dict[str, CarrierSpec]:
    """Carriers installed as packages; entry points are read once per process."""
    found: dict[str, CarrierSpec] = {}
    for ep in entry_points(group=GROUP):
        spec = ep.load()
        if not isinstance(spec, CarrierSpec):
            raise TypeError(f"entry point {ep.name!r} in {GROUP} is not a CarrierSpec: {ep.value}")
        found[spec.name] = spec
    return found


def carriers() -> dict[str, CarrierSpec]:
    return dict(sorted((_installed() | _registered).items()))


def get(name: str) -> CarrierSpec:
    spec = _registered.get(name) or _installed().get(name)
    if spec is None:
        raise UnknownCarrier(name, list(carriers()))
    return spec
