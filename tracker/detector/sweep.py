"""The periodic sweep for what time alone brings about: ``delayed``, ``stalled``, ``lost`` (silent too
long), ``not_posted`` and pickup deadlines drawing near.

Each kind is one indexed query for *candidates* (a calendar-day bound that every business-day rule
implies), minus shipments whose incident of that kind is already open at its top severity, streamed in
partitions: memory stays flat however many shipments are active. The rule then decides on each candidate,
in business days of its destination state; the few it fires on are re-read, locked, and raised. The sweep
only raises and escalates; resolving needs every fact, and that happens in the poll pipeline.
"""

from datetime import UTC, datetime, time, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Status
from tracker.detector.facts import FACT_COLUMNS, Facts, facts_of
from tracker.detector.guard import Guard, active_guards
from tracker.detector.models import incidents_table
from tracker.detector.rules import FROM_SILENCE, IN_FLIGHT, RULES, TIME_BASED, Finding
from tracker.detector.service import Detected, Detector
from tracker.models import shipments_table
from tracker.vocabulary import IncidentStatus, Kind

log = structlog.get_logger(__name__)
PAGE = 2000
ANALYZE_AFTER = 1000  # incidents opened in one pass: refresh the planner's statistics before the next query
_s, _i = shipments_table.c, incidents_table.c


def _days_before(now: datetime, n: int) -> datetime:
    """An instant before which every event lies that can be ``n`` whole business days old by now, in any
    Brazilian zone (UTC-2 to UTC-5): n whole days between two dates put them at least n + 1 days apart."""
    return datetime.combine(now.astimezone(UTC).date() - timedelta(days=n), time(6), UTC)


def _candidates(detector: Detector, kind: Kind, now: datetime) -> ColumnElement[bool]:
    """A superset of the shipments ``kind``'s rule can fire on now (the rule then decides)."""
    rules = detector.rules
    day = timedelta(days=1)
    if kind is Kind.STALLED:
        return or_(
            *(
                and_(_s.status == status.value, _s.last_event_at < _days_before(now, days))
                for status, days in rules.min_stalled().items()
            )
        )
    if kind is Kind.LOST:
        silent = _days_before(now, rules.minimum("lost_after_silent_business_days"))
        in_transit = (Status.POSTED.value, Status.IN_TRANSIT.value)
        return and_(_s.status.in_(in_transit), _s.last_event_at < silent)
    if kind is Kind.NOT_POSTED:
        waited = _days_before(now, rules.minimum("not_posted_business_days"))
        return and_(_s.status == Status.PENDING.value, func.coalesce(_s.shipped_at, _s.created_at) < waited)
    if kind is Kind.DELAYED:
        grace = rules.minimum("delay_grace_business_days")
        # g ≥ 1 business days late puts the promise g calendar days before the local date, which is never
        # after the UTC date in Brazil; a grace of 0 lets a promise on a coming weekend count, hence a day ahead
        latest = now.astimezone(UTC).date() - grace * day if grace >= 1 else (now + day).date()
        return and_(_s.status.in_([s.value for s in IN_FLIGHT]), _s.original_promise_date <= latest)
    if kind is Kind.AWAITING_PICKUP:
        horizon = now + (rules.minimum("pickup_warn_business_days") + 7) * day  # long holidays included
        return and_(_s.status == Status.AWAITING_PICKUP.value, _s.pickup_deadline < horizon)
    raise ValueError(f"{kind.value} is not a time-based kind; expected one of {[k.value for k in TIME_BASED]}")


def candidates_query(detector: Detector, kind: Kind, now: datetime, guarded: set[int]) -> Select[Any]:
    """The facts of every shipment ``kind``'s rule may fire on, minus those whose incident of that kind is
    already open at its top severity (nothing left to raise)."""
    handled = exists().where(
        _i.shipment_id == _s.id,
        _i.kind == kind.value,
        _i.status != IncidentStatus.RESOLVED.value,
        _i.severity == detector.rules.kinds[kind].top_severity.value,
    )
    where = [_candidates(detector, kind, now), ~handled, _s.held_reason.is_(None)]  # held: no carrier asked yet
    if kind in FROM_SILENCE:  # silence is evidence only from answered polls of accounts not in an outage
        where.append(_s.poll_error_count == 0)
        if guarded:
            where.append(_s.carrier_account_id.not_in(guarded))
    return select(*(_s[c] for c in FACT_COLUMNS)).where(*where)


async def sweep(sessions: async_sessionmaker[AsyncSession], detector: Detector, now: datetime) -> Detected:
    """Run every time-based rule over the shipments it may fire on. Candidates stream from one query per
    kind (one pass over the table, memory flat); the few the rule fires on are raised in short transactions
    of their own."""
    done = Detected()
    async with sessions() as session:
        guards = await active_guards(session, now, log_them=True)
    done.guarded_accounts = {g.account for g in guards.values()}
    for kind in TIME_BASED:
        query = candidates_query(detector, kind, now, set(guards)).execution_options(yield_per=PAGE)
        before = sum(done.opened.values())
        async with sessions() as reader:
            async for rows in (await reader.stream(query)).mappings().partitions(PAGE):
                fired = [row["id"] for row in rows if _finding(detector, kind, facts_of(row), now, guards)]
                if fired:
                    raised = await _raise(sessions, detector, kind, fired, now, guards)
                    raised.raised = []  # told to the listeners already: the sweep's memory stays flat
                    done.merge(raised)
        if sum(done.opened.values()) - before > ANALYZE_AFTER:
            await _analyze_incidents(sessions)
    if done.opened or done.escalated:
        log.info("detector_sweep", opened=dict(done.opened), escalated=dict(done.escalated))
    return done


async def _analyze_incidents(sessions: async_sessionmaker[AsyncSession]) -> None:
    """After a bulk of new incidents, PostgreSQL's planner must know of them (autovacuum comes later), or
    the next candidates query joins every candidate with every incident instead of hashing them."""
    async with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ANALYZE incidents"))


def _finding(detector: Detector, kind: Kind, f: Facts, now: datetime, guards: dict[int, Guard]) -> Finding | None:
    return RULES[kind](f, detector.context(f, now, guarded=f.carrier_account_id in guards))


async def _raise(
    sessions: async_sessionmaker[AsyncSession],
    detector: Detector,
    kind: Kind,
    ids: list[int],
    now: datetime,
    guards: dict[int, Guard],
) -> Detected:
    """Decide again on the shipments' current facts, with their rows locked: a poller may have stored news
    since the candidates were read (a row a poller holds now is left to the next sweep)."""
    query = select(*(_s[c] for c in FACT_COLUMNS)).where(_s.id.in_(ids))
    async with sessions() as session, session.begin():
        items = []
        for row in (await session.execute(query.with_for_update(of=shipments_table, skip_locked=True))).mappings():
            f = facts_of(row)
            if (finding := _finding(detector, kind, f, now, guards)) is not None:
                items.append((f, {kind: finding}))
        done = await detector.reconcile(session, items, [kind], now, resolve=False)
        await detector.announce(session, done.raised, [], now)
        return done
