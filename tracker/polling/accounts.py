"""Carrier accounts: one per carrier contract, credentials encrypted at rest. :func:`release_held` hands the
shipments held for want of one (stored before their carrier's account existed: ``tracker.ingest``) to the accounts
that now exist: ``zelo accounts add`` calls it, and so does each poll cycle."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import AccountConfig
from carriers.base.registry import get as get_carrier
from tracker.models import CarrierAccount, shipments_table
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
) -> CarrierAccount:
    spec = get_carrier(carrier)
    missing = [f for f in spec.credential_fields if not credentials.get(f)]
    if missing:
        raise AccountError(f"{carrier} account {name!r} needs {', '.join(missing)}")
    if not name.strip():
        raise AccountError("account name must not be empty")
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
        consecutive_failures=0,
    )
    session.add(account)
    await session.flush()
    return account


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
