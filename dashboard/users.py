"""The dashboard's people: create one, check a password (with the lockout), open and read a session.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile); a session's token is
random and only its SHA-256 is stored, so a copy of the database opens no session. Five wrong passwords in a row
lock the account for 15 minutes; an unknown e-mail costs the same hash as a known one."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dashboard.models import DashboardSession, DashboardUser

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # argon2 hashes any length; this bounds the work a form can ask for
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password anyone has")


class Role(StrEnum):
    VIEWER = "viewer"  # reads every page
    OPS = "ops"  # and works the queues: triage, assign, resolve, mark sent, mark filed
    ADMIN = "admin"  # everything

    def can(self, needed: "Role") -> bool:
        return _RANK[self] >= _RANK[needed]


_RANK = {Role.VIEWER: 0, Role.OPS: 1, Role.ADMIN: 2}


class UserError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Signed:
    """Who a session belongs to, and the CSRF token its forms carry."""

    user_id: int
    email: str
    role: Role
    csrf: str
    session_id: int


@dataclass(frozen=True, slots=True)
class Refused:
    """A login that did not open a session: ``locked_until`` when the account is locked."""

    locked_until: datetime | None = None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(
            "password", f"the password has {len(password)} characters; expected {MIN_PASSWORD} to {MAX_PASSWORD}"
        )


async def create_user(session: AsyncSession, *, email: str, role: str, password: str, now: datetime) -> DashboardUser:
    """A new person; the e-mail is stored lower-case and must be new."""
    address = email.strip().lower()
    if "@" not in address or len(address) > 320 or any(c.isspace() for c in address):
        raise UserError("email", "expected an e-mail address such as ana@loja.example")
    if role not in Role.__members__.values():
        raise UserError("role", f"role {role!r}; expected one of: {', '.join(r.value for r in Role)}")
    check_password(password)
    if await session.scalar(select(DashboardUser.id).where(DashboardUser.email == address)) is not None:
        raise UserError("email", "a dashboard user with this e-mail already exists")
    user = DashboardUser(
        email=address, password_hash=_hasher.hash(password), role=role, failed_attempts=0, created_at=now
    )
    session.add(user)
    await session.flush()
    return user


async def log_in(session: AsyncSession, email: str, password: str, now: datetime) -> tuple[str, Signed] | Refused:
    """The new session's cookie token and who it is, or why not; in the caller's transaction."""
    address = email.strip().lower()[:320]
    user = await session.scalar(select(DashboardUser).where(DashboardUser.email == address).with_for_update())
    password = password[:MAX_PASSWORD]
    if user is None:
        _matches(_DUMMY, password)  # the same work as for a known e-mail
        return Refused()
    if user.locked_until is not None and user.locked_until > now:
        return Refused(user.locked_until)
    if not _matches(user.password_hash, password):
        user.failed_attempts += 1
        if user.failed_attempts >= MAX_FAILURES:
            user.failed_attempts, user.locked_until = 0, now + LOCKOUT
            return Refused(user.locked_until)
        return Refused()
    user.failed_attempts, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row = DashboardSession(
        token_hash=_token_hash(token),
        user_id=user.id,
        csrf_token=csrf,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    await session.flush()
    return token, Signed(user.id, user.email, Role(user.role), csrf, row.id)


def _matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def signed_in(session: AsyncSession, token: str | None, now: datetime) -> Signed | None:
    """Who holds the session ``token`` (the cookie's value), while it has not expired."""
    if not token or len(token) > 100:
        return None
    query = (
        select(DashboardSession, DashboardUser)
        .join(DashboardUser, DashboardUser.id == DashboardSession.user_id)
        .where(DashboardSession.token_hash == _token_hash(token), DashboardSession.expires_at > now)
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    s, user = row
    return Signed(user.id, user.email, Role(user.role), s.csrf_token, s.id)


async def log_out(session: AsyncSession, session_id: int, now: datetime) -> None:
    """End the session, and sweep the expired ones (indexed by expiry)."""
    await session.execute(delete(DashboardSession).where(DashboardSession.id == session_id))
    await session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())
