"""API keys: ``zelo_<prefix>_<secret>``, stored as a SHA-256 hash with scopes (read, write, admin)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import ApiKey

SCOPES = ("read", "write", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: int
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def parse_scopes(value: str) -> list[str]:
    scopes = sorted({s.strip() for s in value.split(",") if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes {value!r}: expected a comma-separated subset of {', '.join(SCOPES)}")
    return scopes


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_key(session: AsyncSession, *, name: str, scopes: list[str], now: datetime) -> tuple[str, ApiKey]:
    """A new key; the clear key is returned once and never stored."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=prefix, key_hash=_hash(secret), scopes=",".join(scopes), created_at=now)
    session.add(row)
    await session.flush()
    return f"zelo_{prefix}_{secret}", row


async def authenticate(session: AsyncSession, key: str) -> Principal | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "zelo":
        return None
    row = await session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, _hash(parts[2])):
        return None
    return Principal(row.id, row.name, frozenset(row.scopes.split(",")))
