"""Test helpers shared across the suite."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tracker.polling.accounts import add_account
from tracker.vault import Vault


class RecordingSleep:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def correios_account(
    session: AsyncSession, vault: Vault, *, name: str, now: datetime, base_url: str | None = None
) -> int:
    """A Correios account with placeholder credentials (tests talk to respx or the sandbox)."""
    credentials = {"user": "u", "access_code": "c", "posting_card": "1"}
    account = await add_account(
        session, vault, carrier="correios", name=name, base_url=base_url, now=now, credentials=credentials
    )
    return account.id
