"""Each carrier account's requests are spaced to its rate limit: the account's own, else its carrier's.

Time is simulated: the poller's sleep moves the clock, and the fake carrier notes the clock at each call."""

import asyncio
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Status, TrackingResult
from carriers.base.registry import register, unregister
from tests.tracker.fake_carrier import FakeCarrier, events
from tracker.clock import SimulatedClock
from tracker.models import accounts_table
from tracker.polling.accounts import AccountError, add_account
from tracker.polling.poller import RATE_MARGIN, Poller
from tracker.shipments.service import NewShipment
from tracker.shipments.service import register as register_shipments
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


class ClockSleep:
    """Sleeping lets the tasks ready now run (at the current time), then moves the simulated clock by the time
    slept (one sleeper at a time, as one account's pacer is)."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock, self.waits = clock, list[float]()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        for _ in range(5):
            await asyncio.sleep(0)
        self.clock.advance(timedelta(seconds=seconds))


class HeldSleep:
    """A sleep that lasts until the test lets it end."""

    def __init__(self) -> None:
        self.waits, self.sleeping, self.wake = list[float](), asyncio.Event(), asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sleeping.set()
        await self.wake.wait()


@pytest.fixture
def carrier() -> Iterator[FakeCarrier]:
    yield FakeCarrier()  # registered by each test, with the rate limit it needs
    unregister("fake")


async def setup(
    sessions: Sessions,
    vault: Vault,
    clock: SimulatedClock,
    carrier: FakeCarrier,
    *,
    carrier_rate: float | None,
    accounts: dict[str, float | None],
    shipments: int,
) -> dict[str, int]:
    """Register ``carrier`` with ``carrier_rate``, add ``accounts`` (name → own rate) and ``shipments`` shipments
    on each, coded ``FK<name><n>``, each answered as posted; the account ids by name."""
    carrier.requests_per_second = carrier_rate
    register(carrier.spec())
    ids = {}
    async with sessions() as session, session.begin():
        for name, rate in accounts.items():
            account = await add_account(
                session,
                vault,
                carrier="fake",
                name=name,
                credentials={"key": "k"},
                base_url=None,
                now=clock.now(),
                requests_per_second=rate,
            )
            ids[name] = account.id
            codes = [f"FK{name}{n}" for n in range(shipments)]
            await register_shipments(session, [NewShipment("fake", account.id, c) for c in codes], clock.now())
            for c in codes:
                carrier.answers[c] = TrackingResult(c, events(clock.now(), (1, "PO-01", Status.POSTED)))
    return ids


def spacing(times: list[datetime]) -> list[float]:
    return [(b - a).total_seconds() for a, b in pairwise(times)]


@pytest.mark.parametrize(
    ("carrier_rate", "account_rate", "seconds_apart"),
    [
        (2.0, None, 0.5),  # the carrier's limit
        (2.0, 4.0, 0.25),  # the account's own wins, faster
        (5.0, 0.5, 2.0),  # or slower
        (None, 1.0, 1.0),  # and applies where the carrier has none
    ],
)
async def test_an_accounts_requests_are_spaced_to_its_limit(
    sessions: Sessions,
    vault: Vault,
    clock: SimulatedClock,
    carrier: FakeCarrier,
    carrier_rate: float | None,
    account_rate: float | None,
    seconds_apart: float,
) -> None:
    await setup(sessions, vault, clock, carrier, carrier_rate=carrier_rate, accounts={"a": account_rate}, shipments=9)
    sleep = ClockSleep(clock)
    poller = Poller(sessions, httpx.AsyncClient(), clock, vault, sleep=sleep, rng=random.Random(1))
    report = await poller.run_once()
    assert report.polled == 9 and len(carrier.calls) == 3  # three batches of three
    apart = seconds_apart / RATE_MARGIN  # spaced a few percent under the limit
    assert spacing(carrier.called_at) == pytest.approx([apart, apart], abs=1e-5)
    assert sleep.waits == pytest.approx([apart, apart], abs=1e-5)  # the first request did not wait


async def test_without_a_limit_nothing_waits(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, carrier: FakeCarrier
) -> None:
    await setup(sessions, vault, clock, carrier, carrier_rate=None, accounts={"a": None, "b": None}, shipments=9)
    sleep = ClockSleep(clock)
    poller = Poller(sessions, httpx.AsyncClient(), clock, vault, sleep=sleep, rng=random.Random(1))
    assert (await poller.run_once()).polled == 18
    assert len(carrier.calls) == 6 and sleep.waits == []
    assert set(carrier.called_at) == {carrier.called_at[0]}


async def test_a_changed_limit_applies_from_the_next_cycle(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, carrier: FakeCarrier
) -> None:
    ids = await setup(sessions, vault, clock, carrier, carrier_rate=2.0, accounts={"a": None}, shipments=6)
    poller = Poller(sessions, httpx.AsyncClient(), clock, vault, sleep=ClockSleep(clock), rng=random.Random(1))
    await poller.run_once()
    assert spacing(carrier.called_at) == pytest.approx([0.5 / RATE_MARGIN], abs=1e-5)
    async with sessions() as session, session.begin():
        table = accounts_table
        await session.execute(update(table).where(table.c.id == ids["a"]).values(requests_per_second=10.0))
    clock.advance(timedelta(days=1))
    carrier.called_at.clear()
    assert (await poller.run_once()).polled == 6
    assert spacing(carrier.called_at) == pytest.approx([0.1 / RATE_MARGIN], abs=1e-5)


async def test_an_account_whose_stored_rate_is_out_of_range_fails_its_polls_and_the_others_go_on(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, carrier: FakeCarrier
) -> None:
    ids = await setup(sessions, vault, clock, carrier, carrier_rate=None, accounts={"a": None, "b": None}, shipments=3)
    async with sessions() as session, session.begin():  # set past the CLI's checks, e.g. by hand in the database
        table = accounts_table
        await session.execute(update(table).where(table.c.id == ids["a"]).values(requests_per_second=1e6))
    poller = Poller(sessions, httpx.AsyncClient(), clock, vault, sleep=ClockSleep(clock), rng=random.Random(1))
    report = await poller.run_once()
    assert report.polled == 6 and report.failed == 3 and report.errors == {"account_unusable": 3}
    assert report.changed == 3  # account b's shipments were polled


async def test_accounts_are_paced_apart_and_a_waiting_one_holds_no_place(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, carrier: FakeCarrier
) -> None:
    """With one request in flight at a time, a slow account's wait does not stop a faster account's requests."""
    await setup(sessions, vault, clock, carrier, carrier_rate=None, accounts={"A": 1.0, "B": None}, shipments=6)
    sleep = HeldSleep()
    poller = Poller(sessions, httpx.AsyncClient(), clock, vault, sleep=sleep, concurrency=1, rng=random.Random(1))

    def batches(account: str) -> int:
        return sum(1 for call in carrier.calls if call[0].startswith(f"FK{account}"))

    cycle = asyncio.create_task(poller.run_once())
    try:
        await asyncio.wait_for(sleep.sleeping.wait(), timeout=5)  # A's second batch waits for its turn
        for _ in range(200):
            if batches("B") == 2:
                break
            await asyncio.sleep(0.01)
        assert (batches("A"), batches("B")) == (1, 2)  # B went on meanwhile
    finally:
        sleep.wake.set()
        report = await asyncio.wait_for(cycle, timeout=5)
    assert report.polled == 12 and batches("A") == 2 and sleep.waits == pytest.approx([1 / RATE_MARGIN], abs=1e-5)


@pytest.mark.parametrize(
    ("credentials", "rate", "expected"),
    [
        ({"key": "k"}, 0.0, "requests per second: got 0; expected a number of requests per second from 0.01 to 10000"),
        (
            {"key": "k"},
            float("nan"),
            "requests per second: got nan; expected a number of requests per second from 0.01 to 10000",
        ),
        (
            {"key": "k"},
            1e-300,
            "requests per second: got 1e-300; expected a number of requests per second from 0.01 to 10000",
        ),
        ({"key": "k", "kye": "k"}, None, "fake accounts take no credential 'kye'; expected key"),
        ({"key": " "}, None, "fake account 'x' needs key"),
    ],
)
async def test_an_account_is_stored_only_with_known_credentials_and_a_positive_rate(
    sessions: Sessions,
    vault: Vault,
    clock: SimulatedClock,
    carrier: FakeCarrier,
    credentials: dict[str, str],
    rate: float | None,
    expected: str,
) -> None:
    register(carrier.spec())
    async with sessions() as session, session.begin():
        with pytest.raises(AccountError) as raised:
            await add_account(
                session,
                vault,
                carrier="fake",
                name="x",
                credentials=credentials,
                base_url=None,
                now=clock.now(),
                requests_per_second=rate,
            )
    assert str(raised.value) == expected
