"""Carrier accounts: one per carrier contract, credentials encrypted at rest (only the fields its carrier takes),
an optional rate limit of its own (:func:`rate_limit`: else its carrier's). :func:`release_held` hands the
shipments held for want of one (stored before their carrier's account existed: ``tracker.ingest``) to the accounts
that now exist: ``zelo accounts add`` calls it, and so does each poll cycle."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import AccountConfig, CarrierSpec
from carriers.base.registry import UnknownCarrier
from carriers.base.registry import get as get_carrier
from tracker.calendar import UFS
from tracker.models import CarrierAccount, shipments_table
from tracker.polling.pace import rate_problem
from tracker.vault import Vault

log = structlog.get_logger(__name__)
_s = shipments_table.c


class AccountError(ValueError):
    pass


async def add_account(
    session: AsyncSession,
    vault: Vault,
    *,
    carrier: str,
    name: str,
    credentials: Mapping[str, str],
    base_url: str | None,
    now: datetime,
    requests_per_second: float | None = None,
    origin_postal_code: str | None = None,
    origin_state: str | None = None,
) -> CarrierAccount:
    """Store a new account; ``requests_per_second`` overrides its carrier's rate limit (None: the carrier's); the
    origin (the warehouse's CEP and UF) is its shipments' when they name none (scorecard routes)."""
    spec = get_carrier(carrier)
    if unknown := unknown_fields(spec, credentials):
        raise AccountError(unknown)
    missing = [f for f in spec.credential_fields if not credentials.get(f, "").strip()]
    if missing:
        raise AccountError(f"{carrier} account {name!r} needs {', '.join(missing)}")
    if empty := [f for f, v in credentials.items() if not v.strip()]:
        raise AccountError(f"{carrier} account {name!r}: credential {', '.join(empty)} is empty")
    if not name.strip():
        raise AccountError("account name must not be empty")
    if (problem := rate_problem(requests_per_second)) is not None:
        raise AccountError(f"requests per second: {problem}")
    origin_postal_code, origin_state = origin(origin_postal_code, origin_state)
    existing = await session.scalar(select(CarrierAccount).where(CarrierAccount.name == name))
    if existing is not None:
        raise AccountError(f"an account named {name!r} already exists (id {existing.id}, {existing.carrier})")
    url = (base_url or spec.default_base_url).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise AccountError(f"base URL {url!r} must start with http:// or https://")
    account = CarrierAccount(
        carrier=carrier,
        name=name,
        base_url=url,
        credentials=vault.seal(dict(credentials)),
        created_at=now,
        requests_per_second=requests_per_second,
        origin_postal_code=origin_postal_code,
        origin_state=origin_state,
        consecutive_failures=0,
    )
    session.add(account)
    await session.flush()
    return account


def origin(postal_code: str | None, state: str | None) -> tuple[str | None, str | None]:
    """An account's origin, checked: a CEP of 8 digits (01310-100 or 01310100) and a Brazilian UF."""
    cep = None
    if postal_code is not None:
        cep = postal_code.replace("-", "").replace(".", "").strip()
        if len(cep) != 8 or not (cep.isascii() and cep.isdigit()):
            raise AccountError(f"origin CEP {postal_code[:20]!r} is not valid: expected 8 digits, e.g. 01310-100")
    uf = None
    if state is not None:
        uf = state.strip().upper()
        if uf not in UFS:
            raise AccountError(
                f"origin state {state[:20]!r} is not a Brazilian UF: expected one of {', '.join(sorted(UFS))}"
            )
    if cep is not None and uf is None:
        raise AccountError("an origin CEP needs its UF too: give --origin-state")
    return cep, uf


def accepted_fields(spec: CarrierSpec) -> tuple[str, ...]:
    """The credential fields an account of ``spec``'s carrier takes: the required ones, then the optional."""
    return (*spec.credential_fields, *(f for f in spec.optional_credential_fields if f not in spec.credential_fields))


def describe_fields(spec: CarrierSpec) -> str:
    """The credential fields ``spec``'s carrier takes, for a message: ``a, b and optionally c, d``."""
    optional = accepted_fields(spec)[len(spec.credential_fields) :]
    return ", ".join(spec.credential_fields) + (f" and optionally {', '.join(optional)}" if optional else "")


def unknown_fields(spec: CarrierSpec, fields: Iterable[str]) -> str | None:
    """What is wrong when ``fields`` names a credential ``spec``'s carrier does not take; None when all are known."""
    unknown = [f for f in fields if f not in accepted_fields(spec)]
    if not unknown:
        return None
    return f"{spec.name} accounts take no credential {', '.join(map(repr, unknown))}; expected {describe_fields(spec)}"


def rate_limit(account: CarrierAccount, spec: CarrierSpec) -> float | None:
    """Requests per second the account may make: its own setting, else its carrier's (None: no limit)."""
    return account.requests_per_second if account.requests_per_second is not None else spec.requests_per_second


async def release_held(session: AsyncSession, now: datetime) -> int:
    """Give the held shipments whose account now exists that account (the one they name, else their carrier's
    first) and make them due for polling now; how many. Cheap when none is held (one look at a partial index):
    each poll cycle calls it too, so a shipment held while a webhook process still had the older list of accounts
    waits a cycle at most."""
    held = select(_s.carrier).where(_s.held_reason.is_not(None)).distinct()
    carriers = list(await session.scalars(held))
    if not carriers:
        return 0
    query = select(CarrierAccount.id, CarrierAccount.carrier, CarrierAccount.name).order_by(CarrierAccount.id)
    accounts = (await session.execute(query.where(CarrierAccount.carrier.in_(carriers)))).all()
    released = 0
    first: dict[str, int] = {}
    for account_id, carrier, name in accounts:
        first.setdefault(carrier, account_id)
        released += await _release(session, carrier, _s.requested_account == name, account_id, now)
    for carrier, account_id in first.items():  # those that named none (or were given one by an update since)
        released += await _release(
            session, carrier, _s.requested_account.is_(None), func.coalesce(_s.carrier_account_id, account_id), now
        )
    if released:
        log.info("held_shipments_released", shipments=released)
    return released


async def _release(session: AsyncSession, carrier: str, which: Any, account: Any, now: datetime) -> int:
    stmt = (
        update(shipments_table)
        .where(_s.held_reason.is_not(None), _s.carrier == carrier, which)
        .values(carrier_account_id=account, held_reason=None, requested_account=None, next_poll_at=now)
    )
    rows: int = (await session.execute(stmt)).rowcount  # type: ignore[attr-defined]
    return max(rows, 0)


def account_config(account: CarrierAccount, vault: Vault) -> AccountConfig:
    return AccountConfig(
        id=account.id,
        carrier=account.carrier,
        name=account.name,
        base_url=account.base_url,
        credentials=vault.open(account.credentials),
    )


async def list_accounts(session: AsyncSession) -> list[CarrierAccount]:
    return list(await session.scalars(select(CarrierAccount).order_by(CarrierAccount.id)))


@dataclass(frozen=True)
class Summary:
    """What ``zelo accounts list`` says of an account (never a credential)."""

    account: CarrierAccount
    pushes: str  # "yes", "no (lacks ...)", "not offered" (by its carrier), "unknown (...)" (unreadable)
    requests_per_second: float | None  # None: no limit
    own_limit: bool  # the account's own setting, not its carrier's


def summary(account: CarrierAccount, vault: Vault) -> Summary:
    own = account.requests_per_second is not None
    try:
        spec = get_carrier(account.carrier)
    except UnknownCarrier:
        return Summary(account, "unknown (carrier not installed)", account.requests_per_second, own)
    pushes = f"not offered by {spec.title}"
    if spec.pushes:
        try:
            credentials = vault.open(account.credentials)
        except ValueError:
            pushes = "unknown (credentials unreadable)"
        else:
            lacking = [f for f in spec.push_fields if not credentials.get(f)]
            pushes = f"no (lacks {', '.join(lacking)})" if lacking else "yes"
    return Summary(account, pushes, rate_limit(account, spec), own)
