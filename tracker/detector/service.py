"""Detection in the caller's transaction: derive a shipment's promises and deadlines, run the rules, and
reconcile their findings with the stored incidents (open, escalate, reopen, resolve), with an audit trail.

The front door other features use: the poll pipeline calls :meth:`Detector.evaluate` on the shipments whose
events just changed, as they are about to be written (the detector's columns join their rows), then
:meth:`Detector.settle` once they are written; the customer check-in calls :meth:`Detector.report`. The
sweep (:mod:`tracker.detector.sweep`) calls :meth:`Detector.reconcile` for the shipments time alone may
have put in trouble (raise or escalate only).
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import Status, TrackingEvent
from tracker.bulk import insert_rows
from tracker.calendar import BusinessCalendar, timezone_of
from tracker.db import insert_skipping_duplicates
from tracker.detector import promises
from tracker.detector.config import Rules, load_rules
from tracker.detector.facts import FACT_COLUMNS, Facts, Promise, facts_of
from tracker.detector.guard import active_guards
from tracker.detector.models import changes_table, incidents_table
from tracker.detector.rules import RULES, Context, Finding, evaluate
from tracker.models import shipments_table
from tracker.signals import Listener, Moved, Raised
from tracker.vocabulary import IncidentStatus, Kind, Outcome, Severity

ACTOR = "detector"
_s, _i = shipments_table.c, incidents_table.c
_UPDATE_INCIDENT = update(incidents_table).where(_i.id == bindparam("_id"))
MUTABLE = (
    *("status", "severity", "trigger", "evidence", "updated_at", "triage_due_at", "due_at", "triaged_at"),
    *("resolved_at", "outcome", "root_cause", "resolution_note", "resolved_by", "reopened_count"),
)


@dataclass
class Detected:
    """What one detection pass did, by incident kind."""

    opened: Counter[str] = field(default_factory=Counter)
    escalated: Counter[str] = field(default_factory=Counter)
    reopened: Counter[str] = field(default_factory=Counter)
    resolved: Counter[str] = field(default_factory=Counter)
    guarded_accounts: set[str] = field(default_factory=set)
    raised: list[Raised] = field(default_factory=list)

    def merge(self, other: "Detected") -> None:
        for mine, theirs in zip(self._counters(), other._counters(), strict=True):
            mine.update(theirs)
        self.guarded_accounts |= other.guarded_accounts
        self.raised += other.raised

    def _counters(self) -> tuple[Counter[str], ...]:
        return (self.opened, self.escalated, self.reopened, self.resolved)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The rules' findings on shipments about to be written: ``columns`` (one dict per shipment, in order)
    are the detector's columns to write with each row; :meth:`Detector.settle` acts on the findings."""

    columns: list[dict[str, Any]]
    findings: list[tuple[Facts, dict[Kind, Finding]]]


@dataclass
class Detector:
    rules: Rules = field(default_factory=load_rules)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    listeners: list[Listener] = field(default_factory=list)  # told of raised incidents and status moves
    _transit: tuple[datetime, promises.TransitTimes] | None = field(default=None, init=False)
    _deadlines: dict[tuple[datetime, float, str | None], datetime] = field(default_factory=dict, init=False)

    async def announce(self, session: AsyncSession, raised: list[Raised], moved: list[Moved], now: datetime) -> None:
        """Tell the listeners (the notifier's outbox) in the caller's transaction."""
        if raised or moved:
            for listener in self.listeners:
                await listener(session, raised, moved, now)

    def context(self, f: Facts, now: datetime, *, guarded: bool) -> Context:
        return Context(now, self.calendar, self.rules.thresholds(f.carrier, f.service), silence_is_evidence=not guarded)

    async def _evaluate_changed(
        self, session: AsyncSession, changed: Sequence[tuple[dict[str, Any], Sequence[TrackingEvent]]], now: datetime
    ) -> list[tuple[dict[str, Any], Facts, dict[Kind, Finding]]]:
        """For shipments whose carrier data just changed — each its row as it is about to be written and its
        live events —: the columns the detector keeps on it (to write with the row), and every rule's findings
        (to :meth:`reconcile` once the row is written)."""
        guards = await active_guards(session, now)
        transit = await self._transit_times(session, now)
        evaluated = []
        for row, events in changed:
            derived = self._derive(row, events, transit)
            f = facts_of(row | derived, events)
            evaluated.append((derived, f, evaluate(f, self.context(f, now, guarded=f.carrier_account_id in guards))))
        return evaluated

    async def evaluate(
        self, session: AsyncSession, changed: Sequence[tuple[dict[str, Any], Sequence[TrackingEvent]]], now: datetime
    ) -> Evaluation:
        """Shipments whose carrier data just changed, each its row as it is about to be written and its live
        events: what the detector keeps on each, and every rule's findings."""
        evaluated = await self._evaluate_changed(session, changed, now)
        return Evaluation([derived for derived, _, _ in evaluated], [(f, found) for _, f, found in evaluated])

    async def settle(
        self, session: AsyncSession, evaluation: Evaluation, moved: list[Moved], now: datetime
    ) -> Detected:
        """Once the evaluated shipments are written: open, escalate or resolve their incidents, and tell the
        listeners of those and of the status moves."""
        done = Detected()
        if evaluation.findings:
            done = await self.reconcile(session, evaluation.findings, RULES, now, resolve=True)
        await self.announce(session, done.raised, moved, now)
        return done

    async def report(
        self,
        session: AsyncSession,
        shipment_id: int,
        kind: Kind,
        *,
        trigger: str,
        evidence: dict[str, Any],
        now: datetime,
    ) -> int | None:
        """A finding from outside the carrier's data (the customer's check-in): open, reopen or add to the
        shipment's incident of ``kind``, keeping the evidence it already had beside the new; its id (``None``
        for an unknown shipment)."""
        columns = select(*(_s[c] for c in FACT_COLUMNS)).where(_s.id == shipment_id)
        shipment = (await session.execute(columns)).first()
        if shipment is None:
            return None
        where = (_i.shipment_id == shipment_id, _i.kind == kind.value)
        before = await session.scalar(select(_i.evidence).where(*where))
        finding = Finding(kind, trigger, dict(before or {}) | evidence)
        done = await self.reconcile(
            session, [(facts_of(shipment._mapping), {kind: finding})], [kind], now, resolve=False
        )
        await self.announce(session, done.raised, [], now)
        incident_id = await session.scalar(select(_i.id).where(*where))
        return None if incident_id is None else int(incident_id)

    def _derive(
        self, row: dict[str, Any], events: Sequence[TrackingEvent], transit: promises.TransitTimes
    ) -> dict[str, Any]:
        """The columns the detector keeps on the shipment, from its live events and promises."""
        uf = row["destination_state"]
        zone = timezone_of(uf)
        posted_at = events[0].occurred_at if events else None
        pickup = next((e for e in reversed(events) if e.status is Status.AWAITING_PICKUP), None)
        thresholds = self.rules.thresholds(row["carrier"], row["service"])
        lane = (row["carrier"], row["service"], uf)
        posted = posted_at.astimezone(zone).date() if posted_at else None
        estimate = transit.estimate(lane, posted, thresholds, self.calendar)
        now_known = promises.current(row["promised_delivery_date"], row["carrier_expected_delivery"], estimate)
        told = Promise(row["original_promise_date"], row["original_promise_source"])
        first = promises.original(told, now_known)
        transit_days = None
        if row["status"] == Status.DELIVERED and row["delivered_at"] and posted:
            delivered = row["delivered_at"].astimezone(zone).date()
            transit_days = self.calendar.business_days_between(posted, delivered, uf)
        return {
            "posted_at": posted_at,
            "pickup_deadline": pickup.pickup_deadline if pickup and row["status"] == Status.AWAITING_PICKUP else None,
            "transit_business_days": transit_days,
            "promise_date": now_known.day,
            "promise_source": now_known.source,
            "original_promise_date": first.day,
            "original_promise_source": first.source,
        }

    async def _transit_times(self, session: AsyncSession, now: datetime) -> promises.TransitTimes:
        if self._transit is None or now - self._transit[0] > promises.STALE_AFTER:
            since = now - promises.TRANSIT_WINDOW
            self._transit = (now, await promises.TransitTimes.load(session, since))
        return self._transit[1]

    async def reconcile(
        self,
        session: AsyncSession,
        items: Iterable[tuple[Facts, dict[Kind, Finding]]],
        kinds: Iterable[Kind],
        now: datetime,
        *,
        resolve: bool,
    ) -> Detected:
        """Bring the stored incidents of ``kinds`` in line with the findings. With ``resolve`` (the
        pipeline, which sees every fact), open incidents whose facts are gone resolve themselves."""
        items, kinds = list(items), list(kinds)
        done = Detected()
        if not items:
            return done
        query = select(incidents_table).where(
            _i.shipment_id.in_([f.shipment_id for f, _ in items]), _i.kind.in_([k.value for k in kinds])
        )
        stored = {(r.shipment_id, r.kind): dict(r._mapping) for r in await session.execute(query)}
        new, changed, log = [], [], []
        for f, found in items:
            for kind in kinds:
                finding, incident = found.get(kind), stored.get((f.shipment_id, kind.value))
                if finding is not None and incident is None:
                    new.append(self._new_row(f, finding, now))
                elif incident is not None:
                    action = self._apply(f, kind, finding, incident, now, resolve)
                    if action:
                        changed.append(incident)
                        log.append(_change(incident, now, *action))
                        counter = getattr(done, action[0], None)
                        if counter is not None:
                            counter[kind.value] += 1
                        if action[0] != "resolved":
                            done.raised.append(_raised(incident, action[0]))
        for incident in await self._write(session, new, changed, log, now):
            done.opened[incident["kind"]] += 1
            done.raised.append(_raised(incident, "opened"))
        return done

    def _new_row(self, f: Facts, finding: Finding, now: datetime) -> dict[str, Any]:
        policy = self.rules.kinds[finding.kind]
        return {
            "shipment_id": f.shipment_id,
            "kind": finding.kind.value,
            "status": IncidentStatus.OPEN.value,
            "severity": self._severity(finding).value,
            "owner": policy.owner,
            "next_action": policy.next_action,
            "trigger": finding.trigger,
            "evidence": finding.evidence,
            "opened_at": now,
            "updated_at": now,
            "triage_due_at": self._triage_due(now, policy.triage_business_hours, f.uf),
            "due_at": finding.due_at,
            "reopened_count": 0,
        }

    def _triage_due(self, now: datetime, hours: float, uf: str | None) -> datetime:
        """The SLA deadline; a batch shares ``now``, so each (hours, state) is worked out once."""
        key = (now, hours, uf)
        if key not in self._deadlines:
            if len(self._deadlines) > 1000:
                self._deadlines.clear()
            self._deadlines[key] = self.calendar.add_business_hours(now, hours, uf)
        return self._deadlines[key]

    def _severity(self, finding: Finding) -> Severity:
        policy = self.rules.kinds[finding.kind]
        return policy.escalates_to if finding.escalated and policy.escalates_to else policy.severity

    def _apply(
        self, f: Facts, kind: Kind, finding: Finding | None, incident: dict[str, Any], now: datetime, resolve: bool
    ) -> tuple[str, str | None, str] | None:
        """Change ``incident`` in place; the change to record as (counter, from status, note), if any."""
        status = incident["status"]
        if finding is None:
            if not resolve or status == IncidentStatus.RESOLVED or self.rules.kinds[kind].resolve != "when_clear":
                return None
            delivered = f.status is Status.DELIVERED
            incident |= {
                "status": IncidentStatus.RESOLVED.value,
                "resolved_at": now,
                "resolved_by": ACTOR,
                "outcome": (Outcome.DELIVERED_AFTER_ALL if delivered else Outcome.NO_ACTION).value,
                "resolution_note": f"cleared by the facts: the parcel is now {f.status.value}",
                "updated_at": now,
            }
            return "resolved", status, incident["resolution_note"]
        if status == IncidentStatus.RESOLVED:
            if finding.trigger == incident["trigger"]:
                return None  # the same facts a person already dealt with
            policy = self.rules.kinds[kind]
            incident |= {
                "status": IncidentStatus.OPEN.value,
                "severity": self._severity(finding).value,
                "trigger": finding.trigger,
                "evidence": finding.evidence,
                "due_at": finding.due_at,
                "triage_due_at": self._triage_due(now, policy.triage_business_hours, f.uf),
                "triaged_at": None,
                "resolved_at": None,
                "resolved_by": None,
                "outcome": None,
                "root_cause": None,
                "resolution_note": None,
                "reopened_count": incident["reopened_count"] + 1,
                "updated_at": now,
            }
            return "reopened", status, f"went wrong again: {finding.trigger}"
        severity = self._severity(finding)
        escalate = severity.rank > Severity(incident["severity"]).rank
        retriggered = incident["trigger"] != finding.trigger
        if not escalate and not retriggered and incident["evidence"] == finding.evidence:
            return None
        incident |= {"trigger": finding.trigger, "evidence": finding.evidence, "due_at": finding.due_at}
        incident |= {"updated_at": now} | ({"severity": severity.value} if escalate else {})
        if escalate:
            return "escalated", status, f"severity {severity.value}"
        return ("retriggered", status, finding.trigger) if retriggered else ("updated", status, "new evidence")

    async def _write(
        self,
        session: AsyncSession,
        new: list[dict[str, Any]],
        changed: list[dict[str, Any]],
        log: list[dict[str, Any]],
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Write the changes; the incidents opened (a concurrent writer's copy is skipped)."""
        opened: list[dict[str, Any]] = []
        if new:
            insert = insert_skipping_duplicates(session, incidents_table, ["shipment_id", "kind"])
            returned = (_i.id, _i.shipment_id, _i.kind, _i.status, _i.severity, _i.evidence, _i.trigger)
            for row in await session.execute(insert.returning(*returned), new):
                opened.append(dict(row._mapping))
                log.append(_change(opened[-1], now, "opened", None, None))
        if changed:
            await session.execute(_UPDATE_INCIDENT, [{"_id": r["id"], **{k: r[k] for k in MUTABLE}} for r in changed])
        if log:
            await insert_rows(session, changes_table, log)
        return opened


def _raised(incident: dict[str, Any], action: str) -> Raised:
    return Raised(
        incident["id"],
        incident["shipment_id"],
        Kind(incident["kind"]),
        action,
        Severity(incident["severity"]),
        incident["evidence"],
        incident["trigger"],
    )


def _change(
    incident: dict[str, Any], now: datetime, action: str, from_status: str | None, note: str | None
) -> dict[str, Any]:
    return {
        "incident_id": incident["id"],
        "at": now,
        "actor": ACTOR,
        "action": action,
        "from_status": from_status,
        "to_status": incident["status"],
        "note": note,
    }
