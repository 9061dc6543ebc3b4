"""Daily rollups, set-based: a day's rows are deleted and rebuilt by a few ``INSERT … SELECT`` statements, so
re-running a day gives the same rows, on SQLite as on PostgreSQL.

**Which day.** A shipment counts on its ship day: the Brasília date of ``shipped_at`` (the ERP's), else of when
Zelo first heard of it. Everything that becomes of it (delivery, on-time, incidents, resolution time, claims,
messages) is counted on that day too, so that "incidents per 100 shipments" divides a cohort by itself and a
period's figures do not move when they are read on another day.

**On time.** Judged at the first delivery attempt or availability for pickup (the first live event delivered,
delivery_failed or awaiting_pickup), as Correios and AfterShip judge it, against the store's promise
(``promised_delivery_date``) and, separately, against the carrier's deadline (``carrier_expected_delivery``: its
latest estimate). A shipment with no attempt yet is not judged. Days late are calendar days against the store's
promise.

**Dirty days.** Chosen: a set-based query on what changed, not a detector listener. A poll or push that changes a
shipment sets its ``updated_at`` in its own transaction (as do the ERP's updates); incidents and claims have their
``updated_at``, notifications their ``sent_at`` (messages to the customer count; ops alerts do not), the delivery's
ratings their ``rated_at``. Each run reads
the shipments touched since the previous run (less ``OVERLAP``, so a transaction that committed late is not missed;
re-rolling a day twice is harmless) and re-rolls their ship days, and the day each was counted under before
(``shipments.rolled_day``), in case its ship date moved.
This keeps the poll and push paths untouched (no extra write in their transactions) and costs one indexed query
per table; the first run rolls every day.
"""

import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import TextClause, bindparam, delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.metrics.dialect import OFFSET_HOURS, Dialect
from tracker.metrics.models import MetricsState, daily_table, histograms_table, incidents_table
from tracker.models import UTCDateTime

OVERLAP = timedelta(minutes=10)
STATE = "rolled_through"
TRANSIT_CAP = 60  # business days: the last bucket holds longer transits
TMR_CAP = 24 * 90  # hours
AT = "coalesce(sh.shipped_at, sh.created_at)"  # the ship instant (indexed: ix_shipments_metrics_at)
KEY = "day, carrier, service, origin_state, destination_state, category"
ATTEMPTS = "('delivered', 'delivery_failed', 'awaiting_pickup')"
APPROVED = "('approved', 'partially_approved', 'paid')"


def _shipments(d: Dialect) -> str:
    return f"""s AS (
        SELECT sh.id AS id, {d.day(AT)} AS day, sh.carrier AS carrier, coalesce(sh.service, '') AS service,
            coalesce(sh.origin_state, a.origin_state, '') AS origin_state,
            coalesce(sh.destination_state, '') AS destination_state, coalesce(sh.category, '') AS category,
            sh.delivered_at AS delivered_at, sh.promised_delivery_date AS promise,
            sh.carrier_expected_delivery AS deadline, sh.transit_business_days AS transit
        FROM shipments sh LEFT JOIN carrier_accounts a ON a.id = sh.carrier_account_id
        WHERE {AT} >= :lo AND {AT} < :hi)"""  # noqa: S608 (constants and dialect fragments only)


def _daily(d: Dialect) -> str:
    late = d.days("j.attempt_day", "j.promise")
    late_deadline = d.days("j.attempt_day", "j.deadline")
    judged = "j.attempt_day IS NOT NULL AND j.promise IS NOT NULL"
    judged_deadline = "j.attempt_day IS NOT NULL AND j.deadline IS NOT NULL"

    def count(condition: str) -> str:
        return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    return f"""WITH {_shipments(d)},
    att AS (
        SELECT e.shipment_id AS id, min(e.occurred_at) AS first_at,
            sum(CASE WHEN e.status = 'delivery_failed' THEN 1 ELSE 0 END) AS failed
        FROM tracking_events e JOIN s ON s.id = e.shipment_id
        WHERE NOT e.voided AND e.status IN {ATTEMPTS} GROUP BY e.shipment_id),
    j AS (
        SELECT s.*, {d.day("att.first_at")} AS attempt_day, coalesce(att.failed, 0) AS failed
        FROM s LEFT JOIN att ON att.id = s.id),
    cl AS (
        SELECT c.shipment_id AS id,
            sum(CASE WHEN c.filed_at IS NOT NULL THEN 1 ELSE 0 END) AS filed,
            sum(CASE WHEN c.status IN {APPROVED} THEN 1 ELSE 0 END) AS approved,
            sum(CASE WHEN c.status = 'denied' THEN 1 ELSE 0 END) AS denied,
            sum(CASE WHEN c.status = 'paid' THEN 1 ELSE 0 END) AS paid,
            sum(CASE WHEN c.filed_at IS NOT NULL THEN coalesce(c.amount_claimed, 0) ELSE 0 END) AS claimed,
            sum(CASE WHEN c.status = 'paid' THEN coalesce(c.amount_paid, 0) ELSE 0 END) AS recovered
        FROM claims c JOIN s ON s.id = c.shipment_id GROUP BY c.shipment_id),
    nt AS (
        SELECT n.shipment_id AS id, count(*) AS sent
        FROM notifications n JOIN s ON s.id = n.shipment_id WHERE n.sent_at IS NOT NULL AND n.trigger NOT LIKE 'ops%'
        GROUP BY n.shipment_id),
    ck AS (
        SELECT d.shipment_id AS id, d.rating AS rating FROM delivery_ratings d JOIN s ON s.id = d.shipment_id)
    INSERT INTO metrics_daily ({KEY}, shipments, delivered, first_attempt, judged_promise, on_time_promise,
        judged_deadline, on_time_deadline, late_1, late_2_3, late_4_7, late_8_plus, notifications_sent,
        claims_filed, claims_approved, claims_denied, claims_paid, amount_claimed, amount_recovered, rated, rating_sum)
    SELECT j.day, j.carrier, j.service, j.origin_state, j.destination_state, j.category, count(*),
        {count("j.delivered_at IS NOT NULL")},
        {count("j.delivered_at IS NOT NULL AND j.failed = 0")},
        {count(judged)}, {count(f"{judged} AND {late} <= 0")},
        {count(judged_deadline)}, {count(f"{judged_deadline} AND {late_deadline} <= 0")},
        {count(f"{judged} AND {late} = 1")}, {count(f"{judged} AND {late} BETWEEN 2 AND 3")},
        {count(f"{judged} AND {late} BETWEEN 4 AND 7")}, {count(f"{judged} AND {late} >= 8")},
        coalesce(sum(nt.sent), 0), coalesce(sum(cl.filed), 0), coalesce(sum(cl.approved), 0),
        coalesce(sum(cl.denied), 0), coalesce(sum(cl.paid), 0), coalesce(sum(cl.claimed), 0),
        coalesce(sum(cl.recovered), 0), count(ck.rating), coalesce(sum(ck.rating), 0)
    FROM j LEFT JOIN cl ON cl.id = j.id LEFT JOIN nt ON nt.id = j.id LEFT JOIN ck ON ck.id = j.id
    GROUP BY j.day, j.carrier, j.service, j.origin_state, j.destination_state, j.category"""  # noqa: S608 (constants and dialect fragments only)


def _resolved(d: Dialect) -> tuple[str, str]:
    return "i.status = 'resolved' AND i.resolved_at IS NOT NULL", d.hours("i.resolved_at", "i.opened_at")


def _incidents(d: Dialect) -> str:
    resolved, hours = _resolved(d)
    return f"""WITH {_shipments(d)}
    INSERT INTO metrics_incidents ({KEY}, kind, opened, resolved, tmr_hours)
    SELECT s.day, s.carrier, s.service, s.origin_state, s.destination_state, s.category, i.kind, count(*),
        sum(CASE WHEN {resolved} THEN 1 ELSE 0 END), coalesce(sum(CASE WHEN {resolved} THEN {hours} END), 0)
    FROM incidents i JOIN s ON s.id = i.shipment_id
    GROUP BY s.day, s.carrier, s.service, s.origin_state, s.destination_state, s.category, i.kind"""  # noqa: S608 (constants and dialect fragments only)


def _histograms(d: Dialect) -> str:
    resolved, hours = _resolved(d)
    tmr = d.least(d.ceil(f"(CASE WHEN {hours} > 0 THEN {hours} ELSE 0 END)"), str(TMR_CAP))
    return f"""WITH {_shipments(d)},
    h AS (
        SELECT {KEY}, 'transit' AS measure, '' AS kind, {d.least("transit", str(TRANSIT_CAP))} AS bucket
        FROM s WHERE transit IS NOT NULL
        UNION ALL
        SELECT s.day, s.carrier, s.service, s.origin_state, s.destination_state, s.category, 'tmr', i.kind, {tmr}
        FROM incidents i JOIN s ON s.id = i.shipment_id WHERE {resolved})
    INSERT INTO metrics_histograms ({KEY}, measure, kind, bucket, count)
    SELECT {KEY}, measure, kind, bucket, count(*) FROM h GROUP BY {KEY}, measure, kind, bucket"""  # noqa: S608 (constants and dialect fragments only)


def _mark(d: Dialect) -> str:
    """The days' shipments marked with the day they were counted under, locked in id order as every writer of
    shipments locks them (the poll's store, the push applier, the ERP's updates): in the order of a scan, a chunk
    being stored could hold one row the mark waits for while waiting for one the mark holds."""
    day = d.day("coalesce(shipped_at, created_at)")
    return f"""UPDATE shipments SET rolled_day = {day} WHERE id IN (SELECT id FROM shipments
        WHERE coalesce(shipped_at, created_at) >= :lo AND coalesce(shipped_at, created_at) < :hi
        AND (rolled_day IS NULL OR rolled_day <> {day}){d.locked_in_id_order()})"""  # noqa: S608 (constants and dialect fragments only)


def _touched(d: Dialect) -> str:
    """The ship days, and the days last counted under, of what changed since ``:since``."""
    return f"""WITH changed AS (
        SELECT id FROM shipments WHERE updated_at > :since
        UNION SELECT shipment_id FROM incidents WHERE updated_at > :since
        UNION SELECT shipment_id FROM claims WHERE updated_at > :since
        UNION SELECT shipment_id FROM notifications WHERE sent_at > :since
        UNION SELECT shipment_id FROM delivery_ratings WHERE rated_at > :since)
    SELECT {d.day("coalesce(sh.shipped_at, sh.created_at)")} AS day FROM shipments sh JOIN changed ON changed.id = sh.id
    UNION SELECT sh.rolled_day FROM shipments sh JOIN changed ON changed.id = sh.id WHERE sh.rolled_day IS NOT NULL"""  # noqa: S608 (constants and dialect fragments only)


_INSTANTS = (bindparam("lo", type_=UTCDateTime()), bindparam("hi", type_=UTCDateTime()))


@functools.cache
def statements(name: str) -> tuple[TextClause, ...]:
    d = Dialect(name)
    built = (_daily(d), _incidents(d), _histograms(d), _mark(d))
    return tuple(text(sql).bindparams(*_INSTANTS) for sql in built)


@functools.cache
def _touched_statement(name: str) -> TextClause:
    return text(_touched(Dialect(name))).bindparams(bindparam("since", type_=UTCDateTime()))


def start_of(day: date) -> datetime:
    """The UTC instant a Brasília day starts."""
    return datetime.combine(day, time(OFFSET_HOURS), UTC)


async def roll_days(session: AsyncSession, first: date, last: date) -> None:
    """Rebuild the rollup rows of the days ``first`` to ``last`` (inclusive), in the caller's transaction."""
    for table in (daily_table, incidents_table, histograms_table):
        await session.execute(delete(table).where(table.c.day >= first, table.c.day <= last))
    bounds = {"lo": start_of(first), "hi": start_of(last + timedelta(days=1))}
    for statement in statements(session.get_bind().dialect.name):
        await session.execute(statement, bounds)


def runs(days: set[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) runs: one set of statements per run."""
    ordered = sorted(days)
    while ordered:
        first = last = ordered.pop(0)
        while ordered and ordered[0] == last + timedelta(days=1):
            last = ordered.pop(0)
        yield first, last


async def roll_changed(session: AsyncSession, now: datetime) -> list[date]:
    """Re-roll the days what changed since the last run touches (every day, on the first run); returns them."""
    if session.get_bind().dialect.name == "postgresql":  # one rollup at a time; SQLite serializes its writers anyway
        await session.execute(text("SELECT pg_advisory_xact_lock(7150012)"))
    state = await session.get(MetricsState, STATE)
    if state is None:
        days = await _every_day(session)
    else:
        since = state.at - OVERLAP
        found = await session.scalars(_touched_statement(session.get_bind().dialect.name), {"since": since})
        days = {_as_date(d) for d in found if d is not None}
    for first, last in runs(days):
        await roll_days(session, first, last)
    if state is None:
        session.add(MetricsState(name=STATE, at=now))
    else:
        state.at = now
    await session.flush()
    return sorted(days)


async def _every_day(session: AsyncSession) -> set[date]:
    query = text("SELECT min(coalesce(shipped_at, created_at)), max(coalesce(shipped_at, created_at)) FROM shipments")
    row = (await session.execute(query)).one()
    if row[0] is None:
        return set()
    first, last = (_as_date(_instant(v) - timedelta(hours=OFFSET_HOURS)) for v in row)
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def _instant(value: object) -> datetime:
    if isinstance(value, str):  # SQLite: stored text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite: text
