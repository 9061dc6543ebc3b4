"""Upsert shipments, idempotent on (carrier, tracking_code) and on external_id.

One call handles a batch in one transaction: it reads the matching rows once, decides each item in order
(a shipment repeated inside the batch sees the earlier copy), then writes inserts, updates and revisions
in bulk, through an :class:`IngestStore` (``sql.py`` for any database, ``pg.py`` for webhooks on PostgreSQL).
Omitted or null fields keep their stored value. A shipment whose carrier (or named carrier account) has no
account yet is stored all the same, *held*: not polled until the account is added (``tracker.polling`` releases
it), with a warning on its item. A unique-key race with a concurrent writer raises a
unique violation; callers retry the whole transaction (:func:`with_retry`), which then sees the other
writer's rows.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.ingest.questionable import doubts
from tracker.ingest.schemas import ItemResult, ShipmentIn
from tracker.problems import FieldError

T = TypeVar("T")
COMPARED = (
    "external_id",
    "carrier_account_id",
    "tracking_code",
    "service",
    "order_number",
    "invoice_key",
    "shipped_at",
    "promised_delivery_date",
    "declared_value",
    "shipping_cost",
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_consent",
    "destination_postal_code",
    "destination_city",
    "destination_state",
    "origin_postal_code",
    "origin_state",
    "category",
    "items",
)
RESET_ON_NEW_CODE = {
    "status": "pending",
    "status_reason": None,
    "status_changed_at": None,
    "last_event_at": None,
    "carrier_expected_delivery": None,
    "delivered_at": None,
    "poll_error": None,
    "poll_error_count": 0,
    "poll_stopped": None,
    "events_digest": None,
    "poll_leased_until": None,  # a poller's answer is for the old code (dropped): the new one is due at once
}
NO_ACCOUNT = "no_account"  # ``held_reason``: not polled until an account of its carrier (or the named one) exists


class Account(NamedTuple):
    """A carrier account, as upserts assign shipments to it."""

    id: int
    carrier: str
    name: str


@dataclass(frozen=True, slots=True)
class Valid:
    """A shipment that passed validation, with its position in the request and any warnings."""

    index: int
    shipment: ShipmentIn
    warnings: list[str] = field(default_factory=list)
    source: str | None = None  # where it came from, for the revision log; default: the batch's source


def valid(index: int, shipment: ShipmentIn, source: str | None = None) -> Valid:
    unknown = shipment.unknown_fields()
    warnings = [f"unknown field {name!r} ignored" for name in unknown] if unknown else []
    return Valid(index, shipment, warnings + shipment.contact_warnings(), source)


class Hold(NamedTuple):
    """No account for a shipment (yet): what its item is told, and the account it waits for (None: any of its
    carrier's)."""

    warning: str
    requested: str | None


@dataclass
class Plan:
    """What an upsert decided: one result per item, and the rows to write."""

    results: list[ItemResult] = field(default_factory=list)
    creates: list[dict[str, Any]] = field(default_factory=list)  # COMPARED columns + carrier
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → COMPARED columns
    changed: dict[int, set[str]] = field(default_factory=dict)  # id → the columns to write (only those)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    new_codes: set[int] = field(default_factory=set)  # updated ids whose tracking code changed

    def created(self, ids: dict[tuple[str, str], int]) -> None:
        """Hand the inserted rows' ids, by (carrier, tracking_code), to their results."""
        self.numbered([ids[(row["carrier"], row["tracking_code"])] for row in self.creates])

    def numbered(self, ids: Sequence[int]) -> None:
        """Give the rows to insert these ids, in order (and their results)."""
        for row, new_id in zip(self.creates, ids, strict=False):
            row["id"] = new_id
            for result in row["_results"]:
                result.id = new_id


class Receipt(NamedTuple):
    """What a webhook-id was answered: for which body (its SHA-256, hex; None on receipts older than the hashes)
    and with what response (JSON text)."""

    body_hash: str | None
    response: str


class Found(NamedTuple):
    """What :meth:`IngestStore.lookup` read."""

    answered: dict[str, Receipt]  # webhook-id → its receipt, for those already answered
    current: list[dict[str, Any]]  # the stored shipments the items may be, by (carrier, code) or external_id


class IngestStore(Protocol):
    """Where ingest reads and writes shipments and webhook receipts: two database steps, with :func:`decide`
    between them. ``sql.py`` implements it over SQLAlchemy Core (any database: the API, the CSV import,
    webhooks on SQLite); ``pg.py`` over asyncpg for webhooks on PostgreSQL, one round trip a step when a
    group only creates shipments. A store serves one transaction (one group of webhooks, or one upsert)."""

    async def accounts(self) -> list[Account]: ...

    async def lookup(self, receipt_ids: list[str], items: Sequence[Valid]) -> Found:
        """The webhook-ids already answered and the stored shipments ``items`` may be."""
        ...

    async def store(self, plan: Plan, receipts: Callable[[], dict[str, Receipt]], now: datetime) -> None:
        """Write the plan and the receipts (by webhook-id). The receipts' responses hold the new shipments' ids, so
        the store calls ``receipts()`` once it has given the plan's new rows their ids."""
        ...


async def upsert(
    store: IngestStore, items: Sequence[Valid], *, source: str, now: datetime, accounts: list[Account] | None = None
) -> list[ItemResult]:
    """Create or update ``items``; one result per item, in order."""
    if not items:
        return []
    if accounts is None:
        accounts = await store.accounts()
    plan = decide(items, (await store.lookup([], items)).current, accounts, source=source, now=now)
    await store.store(plan, dict, now)  # no webhook receipts
    return plan.results


def decide(
    items: Sequence[Valid], current: list[dict[str, Any]], accounts: list[Account], *, source: str, now: datetime
) -> Plan:
    """Decide each item in order against the ``current`` stored rows (and the items before it)."""
    by_ext = {row["external_id"]: row for row in current if row["external_id"]}
    by_pair = {(row["carrier"], row["tracking_code"]): row for row in current}
    plan = Plan()
    chosen: dict[tuple[str, str | None], tuple[int | None, Hold | None]] = {}
    for item in items:
        s = item.shipment
        doubtful = doubts(s, now)
        warnings = item.warnings + doubtful if doubtful else item.warnings
        result = ItemResult(item.index, "rejected", None, s.external_id, s.tracking_code, [], [], warnings)
        plan.results.append(result)
        which = (s.carrier, s.carrier_account)
        account = chosen.get(which)
        if account is None:
            account = chosen[which] = _account(accounts, s)
        account_id, hold = account
        wanted = s.columns()  # COMPARED and carrier
        wanted["carrier_account_id"] = account_id
        target, error = _identify(s, by_ext, by_pair)
        if error:
            result.errors.append(error)
            continue
        if hold is not None:  # stored all the same: held (a new one), or left on the account it has
            kept = target is not None and target["carrier_account_id"] is not None
            result.warnings = [*result.warnings, hold.warning + (_KEPT if kept else _HELD)]
        if target is None:
            row = wanted
            row["id"], row["_results"] = None, [result]
            row["held_reason"], row["requested_account"] = (NO_ACCOUNT, hold.requested) if hold else (None, None)
            plan.creates.append(row)
            result.result = "created"
            _remember(row, by_ext, by_pair)
            continue
        changes = {k: [target[k], v] for k, v in wanted.items() if k in COMPARED and v is not None and v != target[k]}
        if target["id"] is None:  # created earlier in this batch: gets its id after the insert
            target["_results"].append(result)
        if not changes:
            result.result, result.id = "unchanged", target["id"]
            continue
        if "tracking_code" in changes and target["id"] is not None and target["carrier_account_id"] is not None:
            plan.new_codes.add(target["id"])  # (a held shipment was never polled: nothing to track from scratch)
        target.update({k: new for k, (_, new) in changes.items()})
        _remember(target, by_ext, by_pair)
        result.result, result.id, result.changed = "updated", target["id"], sorted(changes)
        if target["id"] is None:  # the pending insert carries the final values
            continue
        plan.updates[target["id"]] = target
        plan.changed.setdefault(target["id"], set()).update(changes)
        plan.revisions.append(
            {"shipment_id": target["id"], "changed_at": now, "source": item.source or source, "changes": changes}
        )
    return plan


def _identify(
    s: ShipmentIn, by_ext: dict[Any, dict[str, Any]], by_pair: dict[Any, dict[str, Any]]
) -> tuple[dict[str, Any] | None, FieldError | None]:
    """The stored (or earlier in this batch) shipment ``s`` is, if any; an error when its two identities
    (external_id and carrier + tracking code) point at different shipments."""
    by_id = by_ext.get(s.external_id) if s.external_id else None
    by_code = by_pair.get((s.carrier, s.tracking_code))
    if by_id is not None and by_code is not None and by_id is not by_code:
        message = (
            f"{s.carrier} {s.tracking_code} already belongs to another shipment "
            f"(external_id {by_code['external_id']!r}); a tracking code identifies one shipment"
        )
        return None, FieldError(field="tracking_code", message=message)
    target = by_id or by_code
    if target is not None and s.external_id and target["external_id"] not in (None, s.external_id):
        message = (
            f"{s.carrier} {s.tracking_code} is already tracked for external_id {target['external_id']!r}, "
            f"not {s.external_id!r}"
        )
        return None, FieldError(field="external_id", message=message)
    return target, None


_HELD = "; the shipment is stored and held (not polled) until it is added"
_KEPT = "; the shipment stays on the account it has"


def _account(accounts: list[Account], s: ShipmentIn) -> tuple[int | None, Hold | None]:
    """The account a shipment is tracked with: the named one, else its carrier's first; or why there is none."""
    mine = [a for a in accounts if a.carrier == s.carrier]
    if s.carrier_account:
        named = [a for a in mine if a.name == s.carrier_account]
        if not named:
            known = ", ".join(a.name for a in mine) or "none"
            warning = (
                f"carrier_account: no {s.carrier} account named {s.carrier_account!r} (known: {known}): "
                f"add it with `zelo accounts add {s.carrier} --name {s.carrier_account} ...`"
            )
            return None, Hold(warning, s.carrier_account)
        return named[0].id, None
    if not mine:
        warning = f"carrier: no {s.carrier} account is configured yet: add one with `zelo accounts add {s.carrier} ...`"
        return None, Hold(warning, None)
    return min(a.id for a in mine), None


def _remember(row: dict[str, Any], by_ext: dict[Any, dict[str, Any]], by_pair: dict[Any, dict[str, Any]]) -> None:
    if row["external_id"]:
        by_ext[row["external_id"]] = row
    by_pair[(row["carrier"], row["tracking_code"])] = row


async def with_retry(sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in a transaction; on a unique-key race with another writer, run it again (3 tries)."""
    for attempt in range(3):
        try:
            async with sessions() as session, session.begin():
                return await work(session)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
