"""Polling: claim the shipments due, fetch them from their carrier account in batches, store what changed
(and let the detector judge it in the same transaction).

``poller`` runs a cycle, ``refresh`` polls one shipment now (due or not), ``outcomes`` writes its results,
``cadence`` (with ``cadence.toml``) decides when each shipment is polled next, ``circuit`` stops hammering a
carrier that is down, ``pace`` spaces an account's requests to its rate limit, ``accounts`` keeps the carrier
contracts and their encrypted credentials (:func:`account_config` opens one for an adapter, or a claim filer;
``credentials`` gathers a new one's for ``zelo accounts add``), ``report`` says what a cycle did.
Carriers' pushes (``tracker.pushes``) are stored through the same :func:`store_outcomes`.
"""

from datetime import timedelta

from tracker.db import is_sqlite
from tracker.detector import detector_of
from tracker.polling.accounts import account_config
from tracker.polling.outcomes import store_outcomes
from tracker.polling.poller import CLAIMED_COLUMNS, Poller
from tracker.polling.refresh import NewEvent, NotRefreshable, Refreshed
from tracker.polling.refresh import refresh as _refresh
from tracker.polling.report import PollReport
from tracker.runtime import Runtime

__all__ = [
    "CLAIMED_COLUMNS",
    "NewEvent",
    "NotRefreshable",
    "PollReport",
    "Poller",
    "Refreshed",
    "account_config",
    "poller_of",
    "refresh_shipment",
    "store_outcomes",
]


def poller_of(runtime: Runtime) -> Poller:
    """The process's poller, kept so its carrier clients (and their tokens) outlive one cycle."""
    return runtime.service(_poller)


def _poller(runtime: Runtime) -> Poller:
    s = runtime.settings
    return Poller(
        runtime.sessions,
        runtime.http,
        runtime.clock,
        runtime.vault,
        chunk=s.poll_chunk,
        concurrency=s.poll_concurrency,
        stores=1 if is_sqlite(s.database_url) else 3,
        lease=timedelta(seconds=s.poll_lease_s),
        detector=detector_of(runtime),
        redis=runtime.redis,
    )


async def refresh_shipment(runtime: Runtime, shipment_id: int, *, every: timedelta | None = None) -> Refreshed:
    """Poll one shipment now through the process's poller (the detector runs as for a scheduled poll); with
    ``every``, at most once per that interval. :class:`NotRefreshable` says why it cannot be polled now."""
    return await _refresh(poller_of(runtime), shipment_id, every=every)
