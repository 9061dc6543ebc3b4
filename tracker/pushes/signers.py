"""Which carrier accounts may push, with their push credentials opened, kept a few seconds per process so a push
costs no decryption; a new or changed account takes pushes within ``ttl``. One request reads them when they are due
(the others wait for it), not every push arriving meanwhile."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import CarrierSpec
from tracker.clock import Clock
from tracker.models import CarrierAccount
from tracker.vault import Vault

TTL_S = 5.0

Signer = tuple[int, Mapping[str, str]]  # (account id, its push credentials)


@dataclass
class Signers:
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    clock: Clock
    ttl: float = TTL_S
    _known: dict[str, tuple[datetime, list[Signer]]] = field(default_factory=dict)
    _reading: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _fresh(self, name: str) -> list[Signer] | None:
        cached = self._known.get(name)
        if cached is None or not 0 <= (self.clock.now() - cached[0]).total_seconds() < self.ttl:
            return None
        return cached[1]

    async def of(self, spec: CarrierSpec) -> list[Signer]:
        """The accounts of ``spec``'s carrier that have every push credential, oldest first."""
        fresh = self._fresh(spec.name)
        if fresh is not None:
            return fresh
        async with self._reading:
            fresh = self._fresh(spec.name)  # read by the request this one waited for
            if fresh is not None:
                return fresh
            now = self.clock.now()
            async with self.sessions() as session:
                query = select(CarrierAccount.id, CarrierAccount.credentials).where(CarrierAccount.carrier == spec.name)
                rows = (await session.execute(query.order_by(CarrierAccount.id))).all()
            signers: list[Signer] = []
            for account_id, sealed in rows:
                if (credentials := push_credentials(self.vault, sealed, spec.push_fields)) is not None:
                    signers.append((account_id, credentials))
            self._known[spec.name] = (now, signers)
        return signers


def push_credentials(vault: Vault, sealed: str, fields: tuple[str, ...]) -> dict[str, str] | None:
    """An account's push credentials (``fields``), opened; None when it lacks one, or they cannot be opened (sealed
    with another key: the poller says so), or the carrier takes no pushes."""
    try:
        credentials = vault.open(sealed)
    except ValueError:
        return None
    if not fields or not all(credentials.get(f) for f in fields):
        return None
    return {f: credentials[f] for f in fields}
