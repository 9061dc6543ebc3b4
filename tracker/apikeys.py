"""API keys: ``zelo_<prefix>_<secret>``, stored as a SHA-256 hash with scopes (read, write, admin)."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import ApiKey

SCOPES = ("read", "write", "admin", "metrics")  # metrics: /metrics only (a Prometheus scraper's key)
KEY_FORMAT = "zelo_<12 hex digits>_<43 URL-safe characters>"  # prefix token_hex(6), secret token_urlsafe(32)
_KEY = re.compile(r"zelo_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_NAMED = re.compile(r"(?:zelo_)?([0-9a-f]{12})|([0-9]{1,18})")  # how a person names a key: prefix or id
KEY_LENGTH = 61


def key_parts(value: str) -> tuple[str, str] | None:
    """The prefix and the secret of a value shaped like a key this module creates; ``None`` for anything else."""
    shape = _KEY.fullmatch(value) if len(value) == KEY_LENGTH else None
    return (shape[1], shape[2]) if shape else None


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
    parts = key_parts(key)
    if parts is None:
        return None
    prefix, secret = parts
    row = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, _hash(secret)):
        return None
    return Principal(row.id, row.name, frozenset(row.scopes.split(",")))


async def find_key(session: AsyncSession, ref: str) -> ApiKey | None:
    """The key named by ``ref``: its prefix (the 12 hex digits after ``zelo_``, with or without ``zelo_``) or
    its id; ``None`` if there is none."""
    named = _NAMED.fullmatch(ref)
    if named is None:
        return None
    prefix, key_id = named.groups()
    if prefix is not None:
        return await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    return await session.get(ApiKey, int(key_id))


async def all_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.id)))
