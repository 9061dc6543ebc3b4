"""What pushes say, applied: merge what each says of a shipment with the events already stored, and write it
through the poll pipeline's :func:`store_outcomes` (events, status, detection, notifications, in the caller's
transaction). ``pending`` takes the pushes the door stored, ``parked`` the ones about shipments not known then."""

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic_core
import structlog
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import CarrierError, Reason, Status, TrackingEvent, TrackingResult
from carriers.base.registry import get as get_carrier
from tracker.detector import Detector
from tracker.models import CarrierAccount, events_table, shipments_table
from tracker.polling import CLAIMED_COLUMNS, PollReport, store_outcomes
from tracker.pushes.models import CarrierPush, parked_table
from tracker.pushes.signers import push_credentials
from tracker.vault import Vault

log = structlog.get_logger(__name__)
MAX_CODE = 64  # a tracking code longer than the column holds names no shipment
_s, _e, _p = shipments_table.c, events_table.c, parked_table.c


class Unreadable(Exception):
    """The stored push cannot be read (any more): kept with this error, never retried."""


@dataclass(frozen=True, slots=True)
class Pushed:
    """What one push says of one tracking code."""

    push_id: int
    carrier: str
    account_id: int
    result: TrackingResult


@dataclass
class PushReport:
    pushes: int = 0  # pushes applied
    parked: int = 0  # tracking codes parked (shipment not known yet)
    matched: int = 0  # parked codes applied now that their shipment exists
    failed: int = 0  # pushes that could not be read or stored (kept, with their error)
    poll: PollReport = field(default_factory=PollReport)

    def merge(self, other: "PushReport") -> None:
        self.pushes += other.pushes
        self.parked += other.parked
        self.matched += other.matched
        self.failed += other.failed
        self.poll.merge(other.poll)


def describe(exc: BaseException) -> str:
    """An error as stored and logged: a carrier error's own sentence (it names fields, never the customer), else
    only the exception's type (its text may quote the body)."""
    if isinstance(exc, CarrierError):
        return f"{exc.code}: {str(exc)[:300]}"
    return type(exc).__name__


def usable(results: Iterable[TrackingResult]) -> tuple[list[TrackingResult], list[str]]:
    """The results that can name a shipment, and a sentence for each one that cannot."""
    kept, refused = [], []
    for r in results:
        code = r.tracking_code.strip()
        if code and len(code) <= MAX_CODE:
            kept.append(r)
        else:
            refused.append(f"tracking code of {len(code)} characters; expected 1 to {MAX_CODE}")
    return kept, refused


def read_push(vault: Vault, carrier: str, sealed_body: str) -> list[TrackingResult]:
    """The usable results a stored push carries (the door read it once; an adapter change could make it
    unreadable: :class:`Unreadable`)."""
    try:
        results = get_carrier(carrier).parse_webhook(pydantic_core.from_json(vault.open_bytes(sealed_body)))
    except Exception as exc:
        raise Unreadable(describe(exc)) from exc
    return usable(results)[0]


def read_pushes(
    vault: Vault, pushes: Iterable[CarrierPush], report: PushReport, only: dict[int, set[str]] | None = None
) -> list[Pushed]:
    """What ``pushes`` say (of the codes in ``only``, when given); an unreadable push keeps its error."""
    items: list[Pushed] = []
    for push in pushes:
        try:
            results = read_push(vault, push.carrier, push.body)
        except Unreadable as exc:
            push.error = str(exc)
            report.failed += 1
            log.error("push_unreadable", push_id=push.id, carrier=push.carrier, error=push.error)
            continue
        wanted = None if only is None else only[push.id]
        items += [
            Pushed(push.id, push.carrier, push.carrier_account_id, r)
            for r in results
            if wanted is None or r.tracking_code in wanted
        ]
    return items


async def apply_results(
    session: AsyncSession,
    items: Sequence[Pushed],
    *,
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    report: PollReport,
    vault: Vault,
) -> list[Pushed]:
    """Store what the pushes say of the shipments they name (locked in id order, in the caller's transaction): a
    shipment of the account that signed the push, or of an account holding the same push credentials (one Melhor
    Envio app secret serves every account of the app). The ones no such shipment answers to are returned, to be
    parked."""
    if not items:
        return []
    peers = await account_peers(session, vault, {(i.carrier, i.account_id) for i in items})
    codes: dict[str, set[str]] = defaultdict(set)
    accounts: dict[str, set[int]] = defaultdict(set)
    for item in items:
        codes[item.carrier].add(item.result.tracking_code)
        accounts[item.carrier] |= peers[(item.carrier, item.account_id)]
    named = or_(
        *(
            and_(_s.carrier == c, _s.tracking_code.in_(list(codes[c])), _s.carrier_account_id.in_(list(accounts[c])))
            for c in codes
        )
    )
    query = select(*CLAIMED_COLUMNS).where(named).order_by(_s.id).with_for_update()
    rows: dict[tuple[str, str], Any] = {  # the shipments' rows (CLAIMED_COLUMNS); a code is one shipment a carrier
        (r.carrier, r.tracking_code): r for r in (await session.execute(query)).all()
    }
    said: dict[int, list[TrackingResult]] = defaultdict(list)
    unknown: list[Pushed] = []
    for item in items:
        row = rows.get((item.carrier, item.result.tracking_code))
        if row is None or row.carrier_account_id not in peers[(item.carrier, item.account_id)]:
            unknown.append(item)
        else:
            said[row.id].append(item.result)
    if said:
        claimed = [row for row in rows.values() if row.id in said]
        stored = await _stored_events(session, list(said))
        outcomes = {row.id: merge(row, stored.get(row.id, []), said[row.id]) for row in claimed}
        report.merge(
            await store_outcomes(session, claimed, dict(outcomes), now=now, rng=rng, detector=detector, pushed=True)
        )
    return unknown


async def account_peers(
    session: AsyncSession, vault: Vault, pairs: set[tuple[str, int]]
) -> dict[tuple[str, int], set[int]]:
    """For each (carrier, account): the accounts of that carrier holding the same push credentials, itself
    included."""
    query = select(CarrierAccount.id, CarrierAccount.carrier, CarrierAccount.credentials)
    found = (await session.execute(query.where(CarrierAccount.carrier.in_({c for c, _ in pairs})))).all()
    keys: dict[tuple[str, int], tuple[str, tuple[str, ...]]] = {}
    for account_id, carrier, sealed in found:
        credentials = push_credentials(vault, sealed, get_carrier(carrier).push_fields)
        if credentials is not None:
            keys[(carrier, account_id)] = (carrier, tuple(credentials.values()))
    groups: dict[tuple[str, tuple[str, ...]], set[int]] = defaultdict(set)
    for (_, account_id), key in keys.items():
        groups[key].add(account_id)
    return {pair: groups[keys[pair]] if pair in keys else {pair[1]} for pair in pairs}


def merge(row: Any, stored: Sequence[TrackingEvent], pushes: Sequence[TrackingResult]) -> TrackingResult:
    """The shipment's whole history as the carrier has now told it: the stored events, then each push's (a pushed
    event that was stored already replaces it, e.g. when it is now voided), oldest first. A push's forecast is
    taken only when the push is news (it reaches the newest event known): an old push applied late (a carrier's
    retry, a parked push matched now) never replaces a newer forecast."""
    events = {(e.occurred_at, e.code): e for e in stored}
    newest = max((e.occurred_at for e in stored), default=None)
    expected, problems = row.carrier_expected_delivery, list[str]()
    for pushed in pushes:
        events.update({(e.occurred_at, e.code): e for e in pushed.events})
        latest = max((e.occurred_at for e in pushed.events), default=None)
        if pushed.expected_delivery and (newest is None or latest is None or latest >= newest):
            expected = pushed.expected_delivery
        newest = max(filter(None, (newest, latest)), default=None)
        problems += pushed.problems
    ordered = sorted(events.values(), key=lambda e: e.occurred_at)
    return TrackingResult(row.tracking_code, tuple(ordered), expected, problems=tuple(dict.fromkeys(problems)))


async def _stored_events(session: AsyncSession, shipment_ids: list[int]) -> dict[int, list[TrackingEvent]]:
    query = select(events_table).where(_e.shipment_id.in_(shipment_ids)).order_by(_e.shipment_id, _e.occurred_at, _e.id)
    found: dict[int, list[TrackingEvent]] = defaultdict(list)
    for r in await session.execute(query):
        found[r.shipment_id].append(
            TrackingEvent(
                occurred_at=r.occurred_at,
                code=r.code,
                status=Status(r.status),
                reason=Reason(r.reason) if r.reason else None,
                description=r.description,
                location=r.location,
                detail=r.detail,
                pickup_deadline=r.pickup_deadline,
                known_code=r.known_code,
                voided=r.voided,
                raw=r.raw or {},
            )
        )
    return found


__all__ = [
    "PushReport",
    "Pushed",
    "Unreadable",
    "account_peers",
    "apply_results",
    "describe",
    "merge",
    "read_push",
    "read_pushes",
    "usable",
]
