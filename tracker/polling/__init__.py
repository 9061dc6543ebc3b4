"""Polling: claim the shipments due, fetch them from their carrier account in batches, store what changed
(and let the detector judge it in the same transaction).

``poller`` runs a cycle, ``outcomes`` writes its results, ``cadence`` (with ``cadence.toml``) decides when
each shipment is polled next, ``circuit`` stops hammering a carrier that is down, ``accounts`` keeps the
carrier contracts and their encrypted credentials (:func:`account_config` opens one for an adapter, or a claim
filer), ``report`` says what a cycle did.
"""

from datetime import timedelta

from tracker.detector import detector_of
from tracker.polling.accounts import account_config
from tracker.polling.poller import Poller
from tracker.polling.report import PollReport
from tracker.runtime import Runtime

__all__ = ["PollReport", "Poller", "account_config", "poller_of"]


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
        lease=timedelta(seconds=s.poll_lease_s),
        detector=detector_of(runtime),
    )
