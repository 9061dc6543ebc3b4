"""Carrier accounts: one per carrier contract, credentials encrypted at rest."""

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import AccountConfig
from carriers.base.registry import get as get_carrier
from tracker.models import CarrierAccount
from tracker.vault import Vault


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
