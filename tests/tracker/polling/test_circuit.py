"""The poller against a failing or pausing carrier: the circuit counts every call and opens on a run's first
failures, half-open probes once, a Retry-After pauses the whole account, a slow carrier keeps every place busy
across chunks, and the shipments a carrier outage held back are due again when it ends."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from structlog.testing import capture_logs

from carriers.base import CarrierUnavailable, RateLimited, Status, TrackingResult
from tests.tracker.fake_carrier import FakeCarrier, events
from tests.tracker.polling.support import Sessions, add, make_poller, shipment
from tracker.clock import SimulatedClock
from tracker.models import CarrierAccount, Shipment
from tracker.polling import circuit
from tracker.polling.gauges import poll_gauges
from tracker.polling.poller import RATE_MARGIN
from tracker.polling.tasks import overdue_polls
from tracker.vault import Vault

DOWN = CarrierUnavailable("HTTP 503", carrier="fake")


def answer_all(carrier: FakeCarrier, clock: SimulatedClock, codes: list[str]) -> None:
    for code in codes:
        carrier.answers[code] = TrackingResult(code, events(clock.now(), (0, "PO-01", Status.POSTED)))


async def account_state(sessions: Sessions, account_id: int) -> CarrierAccount:
    async with sessions() as session:
        found = await session.get(CarrierAccount, account_id)
        assert found is not None
        return found


async def failing_polls(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).where(Shipment.poll_error_count > 0)) or 0)


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_the_circuit_opens_on_a_runs_first_failed_calls_and_defers_the_rest(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int, concurrency: int
) -> None:
    codes = [f"FK{i}" for i in range(1_000)]  # far fewer than a chunk's worth of calls would once have needed
    await add(sessions, clock, account_id, *codes)
    carrier.fail_with = DOWN
    report = await make_poller(sessions, clock, vault, concurrency=concurrency).run_once()
    # five failed calls open it; only calls already in flight then are made besides
    assert circuit.THRESHOLD <= len(carrier.calls) <= circuit.THRESHOLD + concurrency - 1
    assert report.failed == 3 * len(carrier.calls)
    # the rest of the chunk claimed is deferred; no further chunk of the account is claimed
    assert report.deferred == 500 - report.failed and report.polled == report.failed
    assert report.skipped_accounts == {"fake-1"}
    account = await account_state(sessions, account_id)
    assert account.consecutive_failures == circuit.THRESHOLD  # calls in flight when it opened do not count
    assert account.circuit_open_until == clock.now() + circuit.COOL_DOWN
    assert await failing_polls(sessions) == report.failed  # the deferred ones carry no error
    deferred = await shipment(sessions, "FK499")
    assert (deferred.poll_error_count, deferred.last_polled_at) == (0, None)
    assert deferred.next_poll_at == account.circuit_open_until and deferred.poll_leased_until is None
    assert (await shipment(sessions, "FK999")).next_poll_at == clock.now()  # never claimed: due as it was


async def test_a_half_open_circuit_makes_one_probe_and_a_failed_probe_doubles_the_cool_down(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    codes = [f"FK{i}" for i in range(60)]
    await add(sessions, clock, account_id, *codes)
    carrier.fail_with = DOWN
    pollers = [make_poller(sessions, clock, vault, concurrency=1) for _ in range(2)]
    await pollers[0].run_once()
    clock.advance(circuit.COOL_DOWN)
    carrier.calls.clear()
    reports = await asyncio.gather(*(p.run_once() for p in pollers))  # two workers, one probe between them
    assert len(carrier.calls) == 1 and sum(r.failed for r in reports) == 3
    account = await account_state(sessions, account_id)
    assert account.circuit_open_until == clock.now() + 2 * circuit.COOL_DOWN


async def test_a_probe_that_answers_closes_the_circuit_and_the_held_back_shipments_are_due_at_once(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    codes = [f"FK{i}" for i in range(30)]
    await add(sessions, clock, account_id, *codes)
    carrier.fail_with = DOWN
    poller = make_poller(sessions, clock, vault, concurrency=1)
    await poller.run_once()
    assert await failing_polls(sessions) == 15
    async with sessions() as session, session.begin():  # as after hours of outage: each failed poll backs off
        failing = Shipment.poll_error_count > 0
        await session.execute(
            update(Shipment).where(failing).values(poll_error_count=6, next_poll_at=clock.now() + timedelta(hours=6))
        )
    clock.advance(circuit.COOL_DOWN)
    carrier.fail_with = None
    answer_all(carrier, clock, codes)
    report = await poller.run_once()
    assert report.polled == len(codes) and report.failed == 0  # the probe closed it; the backlog went in this run
    account = await account_state(sessions, account_id)
    assert (account.consecutive_failures, account.circuit_open_until) == (0, None)
    assert await failing_polls(sessions) == 0


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_a_long_retry_after_pauses_the_whole_account_without_failing_its_shipments(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int, concurrency: int
) -> None:
    codes = [f"FK{i}" for i in range(180)]  # 60 calls
    await add(sessions, clock, account_id, *codes)
    carrier.fail_with = RateLimited("HTTP 429", carrier="fake", retry_after=120)
    poller = make_poller(sessions, clock, vault, concurrency=concurrency)
    report = await poller.run_once()
    assert 1 <= len(carrier.calls) <= concurrency  # only those already in flight
    assert report.failed == 0 and report.deferred == len(codes)
    account = await account_state(sessions, account_id)
    assert account.circuit_open_until == clock.now() + timedelta(seconds=120)
    assert account.consecutive_failures == 0  # a pause asked for is no failure
    assert await failing_polls(sessions) == 0
    clock.advance(timedelta(seconds=60))
    assert (await poller.run_once()).polled == 0 and len(carrier.calls) <= concurrency  # still paused
    clock.advance(timedelta(seconds=60))
    carrier.fail_with = None
    answer_all(carrier, clock, codes)
    assert (await poller.run_once()).polled == len(codes)


async def test_a_slow_carrier_keeps_every_place_busy_across_chunks(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    codes = [f"FK{i}" for i in range(24)]
    await add(sessions, clock, account_id, *codes)
    answer_all(carrier, clock, codes)
    carrier.answer_when = asyncio.Event()
    poller = make_poller(sessions, clock, vault, chunk=6, concurrency=4)  # two calls a chunk, four places
    run = asyncio.create_task(poller.run_once())
    try:
        for _ in range(500):  # the calls of two chunks are in flight at once before any answers
            if carrier.in_flight == 4:
                break
            await asyncio.sleep(0.01)
        assert carrier.in_flight == 4
    finally:
        carrier.answer_when.set()
    report = await asyncio.wait_for(run, timeout=30)
    assert report.polled == len(codes) and carrier.peak_in_flight == 4


async def test_the_lease_is_sized_to_the_work(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1")
    poller = make_poller(sessions, clock, vault, chunk=100, lease=timedelta(minutes=10))
    claim = await poller.claim(clock.now())
    assert claim.chunk is not None and claim.chunk.leased_until == clock.now() + poller.call_budget  # no limit
    for rate, lease in [
        (0.5, poller.call_budget + timedelta(seconds=100 / (0.5 * RATE_MARGIN))),  # a chunk's calls at its pace
        (0.1, poller.lease),  # never longer than the poller's longest
    ]:
        async with sessions() as session, session.begin():
            await session.execute(update(CarrierAccount).values(requests_per_second=rate))
            await session.execute(update(Shipment).values(next_poll_at=clock.now(), poll_leased_until=None))
        claim = await poller.claim(clock.now())
        assert claim.chunk is not None and claim.chunk.leased_until == clock.now() + lease
        assert (await shipment(sessions, "FK1")).poll_leased_until == claim.chunk.leased_until


async def test_a_chunk_whose_calls_queue_past_half_its_lease_renews_it_and_polls_every_shipment_once(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    codes = [f"FK{i}" for i in range(18)]  # one chunk of six calls
    await add(sessions, clock, account_id, *codes)
    answer_all(carrier, clock, codes)
    answer = carrier.track

    async def slow(batch: list[str]) -> list[TrackingResult]:  # each call takes 40 s
        clock.advance(timedelta(seconds=40))
        return await answer(batch)

    carrier.track = slow  # type: ignore[method-assign]
    poller = make_poller(sessions, clock, vault, concurrency=1)  # no rate: leased for one call's budget, 150 s
    with capture_logs() as logs:
        report = await asyncio.wait_for(poller.run_once(), timeout=30)
    assert (report.polled, report.deferred, report.failed) == (18, 0, 0)
    assert sorted(c for call in carrier.calls for c in call) == sorted(codes)  # none asked twice
    assert [e["shipments"] for e in logs if e["event"] == "poll_lease_renewed"] == [18, 18]  # at 80 s and 200 s


async def test_a_renewal_leaves_the_shipments_another_poller_took_over_to_it(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1", "FK2")
    poller = make_poller(sessions, clock, vault)
    claim = await poller.claim(clock.now())
    assert claim.chunk is not None
    async with sessions() as session, session.begin():  # the lease ran out; another poller claimed FK2
        taken_over = update(Shipment).where(Shipment.tracking_code == "FK2")
        await session.execute(taken_over.values(poll_leased_until=clock.now() + timedelta(minutes=3)))
    clock.advance(timedelta(minutes=1))
    await poller.renew(claim.chunk)
    taken = (await shipment(sessions, "FK2")).id
    assert claim.chunk.lost == {taken} and claim.chunk.leased_until == clock.now() + poller.call_budget
    assert (await shipment(sessions, "FK1")).poll_leased_until == claim.chunk.leased_until


async def test_a_claim_writes_only_the_lease_and_the_leased_shipment_is_neither_due_nor_overdue_until_it_ends(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1")
    due_at = (await shipment(sessions, "FK1")).next_poll_at
    clock.advance(timedelta(minutes=10))  # ten minutes late: overdue, had no poller claimed it
    poller = make_poller(sessions, clock, vault)
    claim = await poller.claim(clock.now())
    assert claim.chunk is not None and len(claim.chunk.rows) == 1
    leased = await shipment(sessions, "FK1")
    assert (leased.next_poll_at, leased.poll_leased_until) == (due_at, claim.chunk.leased_until)
    async with sessions() as session:
        gauges = {s.name: s.value for s in await poll_gauges(session, clock.now())}
        assert (gauges["zelo_polls_due"], await overdue_polls(session, clock.now())) == (0, 0)
    assert (await poller.claim(clock.now())).chunk is None  # a second poller finds nothing to take
    clock.advance(claim.chunk.leased_until - clock.now() + timedelta(seconds=1))  # the poller died: the lease ends
    async with sessions() as session:
        gauges = {s.name: s.value for s in await poll_gauges(session, clock.now())}
        assert (gauges["zelo_polls_due"], await overdue_polls(session, clock.now())) == (1, 1)
    again = await poller.claim(clock.now())
    assert again.chunk is not None and [r.tracking_code for r in again.chunk.rows] == ["FK1"]
