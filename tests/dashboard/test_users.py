"""The dashboard's people: argon2 hashes, the lockout after five wrong passwords, sessions kept as hashes."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dashboard.models import DashboardSession, DashboardUser
from dashboard.users import LOCKOUT, Refused, Role, UserError, create_user, log_in, log_out, signed_in
from tracker.clock import SimulatedClock

PASSWORD = "correct horse battery"


async def _user(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, role: str = "ops") -> None:
    async with sessions() as session, session.begin():
        await create_user(session, email=" Ana@Loja.example ", role=role, password=PASSWORD, now=clock.now())


async def _try(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, password: str) -> object:
    async with sessions() as session, session.begin():
        return await log_in(session, "ana@loja.example", password, clock.now())


async def test_a_password_is_stored_as_an_argon2_hash_and_opens_a_session(
    sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    await _user(sessions, clock)
    result = await _try(sessions, clock, PASSWORD)
    assert isinstance(result, tuple)
    token, who = result
    assert (who.email, who.role) == ("ana@loja.example", Role.OPS)
    async with sessions() as session:
        user = await session.scalar(select(DashboardUser))
        stored = await session.scalar(select(DashboardSession))
        assert user is not None and stored is not None
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        assert await signed_in(session, token, clock.now()) == who
        assert await signed_in(session, token + "x", clock.now()) is None
        assert await signed_in(session, token, clock.now() + timedelta(hours=13)) is None  # expired


async def test_five_wrong_passwords_lock_the_account_for_15_minutes(
    sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    await _user(sessions, clock)
    for _ in range(4):
        assert await _try(sessions, clock, "wrong password!") == Refused()
    locked = await _try(sessions, clock, "wrong password!")
    assert locked == Refused(clock.now() + LOCKOUT)
    assert await _try(sessions, clock, PASSWORD) == Refused(clock.now() + LOCKOUT)  # even the right one, while locked
    clock.advance(LOCKOUT + timedelta(seconds=1))
    assert isinstance(await _try(sessions, clock, PASSWORD), tuple)


async def test_an_unknown_email_is_refused_like_a_wrong_password(
    sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    async with sessions() as session, session.begin():
        assert await log_in(session, "nobody@loja.example", PASSWORD, clock.now()) == Refused()


async def test_logging_out_ends_the_session(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock) -> None:
    await _user(sessions, clock)
    result = await _try(sessions, clock, PASSWORD)
    assert isinstance(result, tuple)
    async with sessions() as session, session.begin():
        await log_out(session, result[1].session_id, clock.now())
    async with sessions() as session:
        assert await signed_in(session, result[0], clock.now()) is None


@pytest.mark.parametrize(
    ("email", "role", "password", "field"),
    [
        ("not-an-email", "ops", PASSWORD, "email"),
        ("bia@loja.example", "boss", PASSWORD, "role"),
        ("bia@loja.example", "ops", "short", "password"),
        ("ANA@loja.example", "ops", PASSWORD, "email"),  # taken (e-mails are compared lower-case)
    ],
)
async def test_a_bad_user_is_refused_naming_the_field(
    sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, email: str, role: str, password: str, field: str
) -> None:
    await _user(sessions, clock)
    with pytest.raises(UserError) as caught:
        async with sessions() as session, session.begin():
            await create_user(session, email=email, role=role, password=password, now=clock.now())
    assert caught.value.field == field


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.can(Role.OPS) and Role.OPS.can(Role.VIEWER) and not Role.VIEWER.can(Role.OPS)
