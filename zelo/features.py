"""Every feature, plugged in: the detector's listeners, the HTTP routers, what each adds to a shipment's
detail, and the scheduled jobs. Adding a feature means adding its lines here, and nowhere else."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter

from claims import claims_of
from claims import tasks as claims_tasks
from notifier import alerts_of, outbox_of
from notifier import tasks as notifier_tasks
from scheduler import Schedule
from tracker.clock import Clock
from tracker.config import Settings
from tracker.detector import tasks as detector_tasks
from tracker.ingest import tasks as ingest_tasks
from tracker.metrics import tasks as metrics_tasks
from tracker.polling import tasks as polling_tasks
from tracker.pushes import tasks as push_tasks
from tracker.runtime import Runtime
from tracker.runtime import open_runtime as open_bare_runtime

# (job, every N seconds) for the embedded loop.
SCHEDULE: Schedule = (
    (polling_tasks.poll_due, 60.0),
    (push_tasks.apply_pushes, 30.0),  # what the door's own kick did not apply; parked pushes now matched
    (push_tasks.purge_pushes, 3600.0),
    (detector_tasks.detect_sweep, 900.0),
    (notifier_tasks.dispatch, 30.0),
    (notifier_tasks.sla_alerts, 900.0),
    (ingest_tasks.purge_expired, 3600.0),
    (claims_tasks.file_claims, 300.0),
    (claims_tasks.follow_claims, 3600.0),
    (claims_tasks.watch_claims, 900.0),
    (metrics_tasks.rollup_metrics, 900.0),  # scorecards lag what happened by at most this
)


def routers() -> list[APIRouter]:
    """The HTTP API, in order; a shipment's detail lists its events, then revisions, incidents,
    notifications and claims. (Imported here, not above: pollers and workers never load the web routes.)"""
    from claims import api as claims_api
    from dashboard import routers as dashboard_routers
    from notifier import api as notifications_api
    from notifier import pages as customer_pages
    from tracker.detector import api as incidents_api
    from tracker.ingest import api as ingest_api
    from tracker.metrics import api as metrics_api
    from tracker.pushes import api as pushes_api
    from tracker.shipments import api as shipments_api

    parts = (ingest_api.REVISIONS, incidents_api.INCIDENTS, notifications_api.NOTIFICATIONS, claims_api.CLAIMS)
    return [
        ingest_api.router,
        pushes_api.router,
        shipments_api.router(parts),
        incidents_api.router,
        notifications_api.router,
        claims_api.router,
        metrics_api.router,
        customer_pages.router,
        *dashboard_routers(),  # the ops dashboard's pages, under /dashboard
    ]


def wire(runtime: Runtime) -> None:
    """Register what listens to the detector (in the same transaction), the ops alert sink and every job by name."""
    runtime.listeners.append(outbox_of(runtime))  # incidents and status moves queue notifications
    runtime.listeners.append(claims_of(runtime))  # claimable incidents open claims; moves reassess them
    runtime.alert = alerts_of(runtime)  # what features tell ops goes out through the notifier
    runtime.jobs.update({job.__name__: job for job, _ in SCHEDULE})


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """A runtime with every feature wired."""
    async with open_bare_runtime(settings, clock, setup=wire) as runtime:
        yield runtime
