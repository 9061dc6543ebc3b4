"""The poll pipeline on real databases (SQLite and PostgreSQL), with a scriptable carrier."""

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from structlog.testing import capture_logs

from carriers.base import CarrierUnavailable, Reason, ResultError, Status, TrackingResult
from carriers.correios.parse import parse
from tests.tracker.fake_carrier import FakeCarrier, events
from tests.tracker.polling.support import Sessions, add, make_poller, shipment, stored_events
from tracker.clock import SimulatedClock
from tracker.detector import Detector
from tracker.models import CarrierAccount, Shipment, TrackingEvent
from tracker.polling import circuit
from tracker.polling.accounts import add_account
from tracker.shipments.service import NewShipment
from tracker.shipments.service import register as register_shipments
from tracker.vault import Vault


async def test_poll_stores_events_once_and_updates_status(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    t0 = clock.now()
    await add(sessions, clock, account_id, "FK1", "FK2")
    carrier.answers["FK1"] = TrackingResult(
        "FK1", events(t0, (1, "PO-01", Status.POSTED), (5, "RO-01", Status.IN_TRANSIT)), expected_delivery=t0.date()
    )
    carrier.answers["FK2"] = TrackingResult("FK2", error=ResultError("SRO-020", "not found yet"))
    clock.advance(timedelta(hours=6))
    poller = make_poller(sessions, clock, vault)
    report = await poller.run_once()
    assert (report.polled, report.changed, report.events) == (2, 2, 2)

    s1 = await shipment(sessions, "FK1")
    assert (s1.status, s1.last_event_at, s1.carrier_expected_delivery) == (
        "in_transit",
        t0 + timedelta(hours=5),
        t0.date(),
    )
    assert s1.next_poll_at is not None and s1.next_poll_at > clock.now()
    s2 = await shipment(sessions, "FK2")
    assert (s2.status, s2.poll_error, s2.poll_stopped) == ("pending", "not found yet", None)

    # nothing is due now: a second cycle polls nothing; when due again, unchanged data writes no event
    assert (await poller.run_once()).polled == 0
    clock.advance(timedelta(days=1))
    again = await poller.run_once()
    assert (again.polled, again.changed, again.events) == (2, 0, 0)
    assert await stored_events(sessions, "FK1") == [("PO-01", False), ("RO-01", False)]


async def test_a_later_reversal_voids_a_stored_event(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    t0 = clock.now()
    await add(sessions, clock, account_id, "FK1")
    first = events(t0, (1, "PO-01", Status.POSTED), (5, "BDE-01", Status.DELIVERED))
    carrier.answers["FK1"] = TrackingResult("FK1", first)
    poller = make_poller(sessions, clock, vault)
    clock.advance(timedelta(hours=6))
    await poller.run_once()
    assert (await shipment(sessions, "FK1")).status == "delivered"

    est = events(t0, (6, "EST-01", Status.POSTED))[0]
    carrier.answers["FK1"] = TrackingResult(
        "FK1", (first[0], replace(first[1], voided=True), replace(est, voided=True))
    )
    clock.advance(timedelta(days=2))
    report = await poller.run_once()
    assert report.transitions[("delivered", "posted")] == 1
    assert await stored_events(sessions, "FK1") == [("PO-01", False), ("BDE-01", True), ("EST-01", True)]
    assert (await shipment(sessions, "FK1")).status == "posted"


async def test_invalid_codes_stop_polling_and_say_why(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "XX1", "FK9")
    carrier.answers["FK9"] = TrackingResult("FK9", error=ResultError("SRO-019", "SRO-019: Objeto inválido", final=True))
    report = await make_poller(sessions, clock, vault).run_once()
    assert report.stopped["invalid_code"] == 2
    assert carrier.calls == [["FK9"]]  # the malformed code never reached the carrier
    bad = await shipment(sessions, "XX1")
    assert (bad.next_poll_at, bad.poll_stopped, bad.poll_error) == (None, "invalid_code", "'XX1' is not a fake code")
    assert (await shipment(sessions, "FK9")).poll_error == "SRO-019: Objeto inválido"


async def test_batches_respect_the_carrier_limit_and_missing_answers_are_errors(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    codes = [f"FK{i}" for i in range(7)]
    await add(sessions, clock, account_id, *codes)
    for code in codes[:-1]:
        carrier.answers[code] = TrackingResult(code, events(clock.now(), (0, "PO-01", Status.POSTED)))
    report = await make_poller(sessions, clock, vault).run_once()
    assert sorted(len(c) for c in carrier.calls) == [1, 3, 3]
    assert (report.polled, report.failed, report.errors["no_answer"]) == (7, 1, 1)
    missing = await shipment(sessions, "FK6")
    assert missing.poll_error_count == 1 and "no result for FK6" in (missing.poll_error or "")


async def test_carrier_outage_backs_off_opens_the_circuit_and_recovers(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    codes = [f"FK{i}" for i in range(3 * circuit.THRESHOLD + 12)]
    await add(sessions, clock, account_id, *codes)
    carrier.fail_with = CarrierUnavailable("HTTP 503", carrier="fake")
    poller = make_poller(sessions, clock, vault, chunk=3)
    report = await poller.run_once()
    # five failed batches open the circuit; the rest of the account's shipments are not even claimed
    # (one more chunk may already be in flight: the next chunk is fetched while the previous is stored)
    assert circuit.THRESHOLD <= len(carrier.calls) <= circuit.THRESHOLD + 1
    assert report.failed == 3 * len(carrier.calls) and report.skipped_accounts == {"fake-1"}
    async with sessions() as session:
        account = await session.get(CarrierAccount, account_id)
        assert account is not None and account.circuit_open(clock.now())
        assert account.last_error == "fake: HTTP 503"
    failed = await shipment(sessions, "FK0")
    assert (
        failed.status == "pending"
        and failed.poll_error_count == 1
        and "carrier_unavailable" in (failed.poll_error or "")
    )
    assert failed.next_poll_at is not None and failed.next_poll_at > clock.now()

    carrier.fail_with = None
    for code in codes:
        carrier.answers[code] = TrackingResult(code, events(clock.now(), (0, "PO-01", Status.POSTED)))
    clock.advance(timedelta(hours=2))
    report = await poller.run_once()
    assert report.failed == 0 and report.polled == len(codes)
    async with sessions() as session:
        account = await session.get(CarrierAccount, account_id)
        assert account is not None and account.consecutive_failures == 0 and account.circuit_open_until is None
        statuses = (await session.execute(select(Shipment.status, func.count()).group_by(Shipment.status))).all()
    assert [tuple(r) for r in statuses] == [("posted", len(codes))]


async def test_a_crashing_adapter_does_not_stop_other_batches(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1")
    carrier.fail_with = KeyError("boom")  # type: ignore[assignment]
    report = await make_poller(sessions, clock, vault).run_once()
    assert report.errors["internal_error"] == 1
    assert "KeyError" in ((await shipment(sessions, "FK1")).poll_error or "")


async def test_concurrent_pollers_never_poll_a_shipment_twice(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    codes = [f"FK{i}" for i in range(60)]
    await add(sessions, clock, account_id, *codes)
    for code in codes:
        carrier.answers[code] = TrackingResult(code, events(clock.now(), (0, "PO-01", Status.POSTED)))
    pollers = [make_poller(sessions, clock, vault, chunk=7) for _ in range(3)]
    reports = await asyncio.gather(*(p.run_once() for p in pollers))
    assert sum(r.polled for r in reports) == 60
    polled = [c for call in carrier.calls for c in call]
    assert sorted(polled) == sorted(codes)


async def test_delivered_gets_one_late_recheck_then_polling_stops(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1")
    carrier.answers["FK1"] = TrackingResult(
        "FK1", events(clock.now(), (0, "PO-01", Status.POSTED), (1, "BDE-01", Status.DELIVERED))
    )
    poller = make_poller(sessions, clock, vault)
    clock.advance(timedelta(hours=2))
    await poller.run_once()
    first = await shipment(sessions, "FK1")
    assert first.status == "delivered" and first.delivered_at == clock.now() - timedelta(hours=1)
    assert first.next_poll_at is not None and timedelta(hours=21) < first.next_poll_at - clock.now() < timedelta(
        hours=27
    )
    clock.advance(timedelta(days=2))
    report = await poller.run_once()
    assert report.stopped["final"] == 1
    assert (await shipment(sessions, "FK1")).next_poll_at is None


async def test_unknown_codes_are_counted_once_per_event_and_kept(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    t0 = clock.now()
    await add(sessions, clock, account_id, "FK1")
    odd = replace(events(t0, (2, "BDE-99", Status.POSTED))[0], known_code=False)
    base = events(t0, (1, "PO-01", Status.POSTED))
    carrier.answers["FK1"] = TrackingResult("FK1", (*base, odd), problems=("unknown Correios event code BDE-99",))
    poller = make_poller(sessions, clock, vault)
    clock.advance(timedelta(hours=3))
    assert (await poller.run_once()).unknown_codes == {"BDE-99": 1}
    later = events(t0, (30, "RO-01", Status.IN_TRANSIT))
    carrier.answers["FK1"] = TrackingResult(
        "FK1", (*base, odd, *later), problems=("unknown Correios event code BDE-99",)
    )
    clock.advance(timedelta(days=2))
    report = await poller.run_once()
    assert (report.changed, report.events, report.unknown_codes) == (1, 1, {})
    assert await stored_events(sessions, "FK1") == [("PO-01", False), ("BDE-99", False), ("RO-01", False)]
    assert (await shipment(sessions, "FK1")).poll_error == "unknown Correios event code BDE-99"


async def test_uninstalled_carrier_and_unreadable_credentials_delay_only_their_shipments(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    async with sessions() as session, session.begin():
        other = await add_account(
            session,
            Vault("another-key"),
            carrier="fake",
            name="fake-2",
            credentials={"key": "k"},
            base_url=None,
            now=clock.now(),
        )
        await register_shipments(
            session,
            [
                NewShipment("gone", account_id, "GN1"),
                NewShipment("fake", other.id, "FK2"),
                NewShipment("fake", account_id, "FK1"),
            ],
            clock.now(),
        )
    carrier.answers["FK1"] = TrackingResult("FK1", events(clock.now(), (0, "PO-01", Status.POSTED)))
    report = await make_poller(sessions, clock, vault).run_once()
    assert report.errors == {"unknown_carrier": 1, "account_unusable": 1}
    assert (await shipment(sessions, "FK1")).status == "posted"
    gone = await shipment(sessions, "GN1")
    assert "unknown carrier 'gone'" in (gone.poll_error or "") and gone.next_poll_at is not None
    assert "ZELO_SECRET_KEY differs" in ((await shipment(sessions, "FK2")).poll_error or "")


async def test_a_poller_killed_after_claiming_only_delays_its_shipments_by_the_lease(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1", "FK2")
    for code in ("FK1", "FK2"):
        carrier.answers[code] = TrackingResult(code, events(clock.now(), (0, "PO-01", Status.POSTED)))
    doomed = make_poller(sessions, clock, vault, lease=timedelta(minutes=5))
    claim = await doomed.claim(clock.now())  # claims, then "dies": nothing is fetched or stored
    assert claim.chunk is not None and len(claim.chunk.rows) == 2
    survivor = make_poller(sessions, clock, vault)
    assert (await survivor.run_once()).polled == 0  # leased: nobody else takes them meanwhile
    clock.advance(timedelta(minutes=5))
    with capture_logs() as logs:
        report = await survivor.run_once()
    assert report.polled == 2 and report.changed == 2
    assert report.leases_expired == 2  # reported: a poller died holding them
    assert [e["shipments"] for e in logs if e["event"] == "poll_leases_expired"] == [2]
    assert (await survivor.run_once()).leases_expired == 0  # once
    assert (await shipment(sessions, "FK1")).status == "posted"


async def test_an_unstorable_answer_fails_only_its_own_shipment(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1", "FK2")
    good = events(clock.now(), (0, "PO-01", Status.POSTED))
    carrier.answers["FK1"] = TrackingResult("FK1", good)
    bad = replace(good[0], location="X" * 500)  # longer than the column on PostgreSQL
    brt = ZoneInfo("America/Sao_Paulo")  # 23:00 on 9999-12-31 in Brasília is past year 9999 in UTC
    year_9999 = replace(good[0], occurred_at=datetime(9999, 12, 31, 23, tzinfo=brt))
    carrier.answers["FK2"] = TrackingResult("FK2", (bad, year_9999))
    report = await make_poller(sessions, clock, vault).run_once()
    assert report.polled == 2
    assert (await shipment(sessions, "FK1")).status == "posted"
    failed = await shipment(sessions, "FK2")
    assert failed.status == "pending" and "store_failed" in (failed.poll_error or "")
    assert failed.next_poll_at is not None and failed.next_poll_at > clock.now()


async def test_a_poller_slower_than_its_lease_does_not_overwrite_newer_data(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1")
    t0 = clock.now()
    stale = TrackingResult("FK1", events(t0, (0, "PO-01", Status.POSTED)))
    slow = make_poller(sessions, clock, vault, lease=timedelta(minutes=5))
    claim = await slow.claim(clock.now())
    assert claim.chunk is not None
    clock.advance(timedelta(minutes=6))  # the lease runs out; another poller stores fresher news
    carrier.answers["FK1"] = TrackingResult(
        "FK1", events(t0, (0, "PO-01", Status.POSTED), (5, "BDE-01", Status.DELIVERED))
    )
    await make_poller(sessions, clock, vault).run_once()
    assert (await shipment(sessions, "FK1")).status == "delivered"
    claim.chunk.outcomes[claim.chunk.rows[0].id] = stale
    report = await slow.store(claim.chunk)  # the slow one finally stores
    assert report.polled == 0
    assert (await shipment(sessions, "FK1")).status == "delivered"


async def test_a_code_the_table_learns_later_re_statuses_its_stored_event_through_the_detector(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    t0 = clock.now()
    await add(sessions, clock, account_id, "FK1")
    base = events(t0, (1, "PO-01", Status.POSTED), (2, "RO-01", Status.IN_TRANSIT))
    odd = events(t0, (3, "FC-99", Status.IN_TRANSIT))[0]
    carrier.answers["FK1"] = TrackingResult("FK1", (*base, replace(odd, known_code=False)), problems=("unknown",))
    poller = make_poller(sessions, clock, vault, detector=Detector())
    clock.advance(timedelta(hours=4))
    assert (await poller.run_once()).unknown_codes == {"FC-99": 1}
    assert (await shipment(sessions, "FK1")).status == "in_transit"

    # the code table now knows FC-99 (the carrier's answer is the same, read with the extended table)
    carrier.answers["FK1"] = TrackingResult("FK1", (*base, replace(odd, status=Status.LOST, reason=Reason.OTHER)))
    clock.advance(timedelta(days=1))
    report = await poller.run_once()
    assert (report.changed, report.events, report.unknown_codes) == (1, 1, {})
    assert report.transitions == {("in_transit", "lost"): 1} and report.incidents["lost"] == 1
    assert (await shipment(sessions, "FK1")).status == "lost"
    async with sessions() as session:
        row = (await session.execute(select(TrackingEvent).where(TrackingEvent.code == "FC-99"))).scalar_one()
    assert (row.status, row.reason, row.known_code) == ("lost", "other", True)

    clock.advance(timedelta(days=1))  # stored as the carrier now means it: nothing left to change
    assert (await poller.run_once()).changed == 0


async def test_a_bad_pickup_deadline_leaves_a_warning_without_customer_data(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1")
    event = {"codigo": "LDI", "tipo": "01", "dtHrCriado": "2026-11-05T09:00:00", "dtLimiteRetirada": "?"}
    [answer] = parse({"objetos": [{"codObjeto": "FK1", "eventos": [event]}]})
    carrier.answers["FK1"] = answer
    with capture_logs() as logged:
        await make_poller(sessions, clock, vault).run_once()
    [line] = [e for e in logged if e["event"] == "carrier_data_problem"]
    assert line.keys() == {"event", "log_level", "shipment_id", "tracking_code", "problem"}  # no customer field
    assert line["log_level"] == "warning" and line["tracking_code"] == "FK1"
    assert line["problem"].startswith("event LDI-01 has dtLimiteRetirada '?'")


async def test_every_poll_stop_leaves_an_info_line_naming_the_shipment_and_why(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "XX1", "FK9", "FK1", "FK2")
    ids = {code: (await shipment(sessions, code)).id for code in ("XX1", "FK9", "FK1", "FK2")}
    carrier.answers["FK9"] = TrackingResult("FK9", error=ResultError("SRO-019", "SRO-019: Objeto inválido", final=True))
    carrier.answers["FK1"] = TrackingResult("FK1", events(clock.now(), (1, "BDE-01", Status.DELIVERED)))
    carrier.answers["FK2"] = TrackingResult("FK2", events(clock.now(), (1, "RO-01", Status.IN_TRANSIT)))
    poller = make_poller(sessions, clock, vault)
    with capture_logs() as logged:
        clock.advance(timedelta(hours=2))
        await poller.run_once()  # XX1 fails its format, FK9 is invalid for the carrier
        clock.advance(timedelta(days=2))
        await poller.run_once()  # FK1's late re-check: final
        clock.advance(timedelta(days=90))
        await poller.run_once()  # FK2 is past the 90 days
    stops = {(e["shipment_id"], e["why"]) for e in logged if e["event"] == "poll_stopped"}
    assert stops == {
        (ids["XX1"], "invalid_code"),
        (ids["FK9"], "invalid_code"),
        (ids["FK1"], "final"),
        (ids["FK2"], "retired"),
    }
    assert all(e["log_level"] == "info" for e in logged if e["event"] == "poll_stopped")
    [sro] = [e for e in logged if e["event"] == "poll_stopped" and e["shipment_id"] == ids["FK9"]]
    assert sro["detail"] == "SRO-019: Objeto inválido"


async def test_a_shipment_whose_polls_keep_failing_retires_after_90_days_like_the_others(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await add(sessions, clock, account_id, "FK1")
    carrier.fail_with = CarrierUnavailable("HTTP 503", carrier="fake")
    poller = make_poller(sessions, clock, vault)
    clock.advance(timedelta(days=89, hours=23))
    assert (await poller.run_once()).stopped == {}
    assert (await shipment(sessions, "FK1")).next_poll_at is not None  # retried with back-off
    clock.advance(timedelta(hours=2))  # past the 90 days counted from registration
    report = await poller.run_once()
    assert (report.failed, report.stopped) == (1, {"retired": 1})
    retired = await shipment(sessions, "FK1")
    assert (retired.next_poll_at, retired.poll_stopped, retired.poll_error_count) == (None, "retired", 2)
    assert "HTTP 503" in (retired.poll_error or "")
