"""Every feature, plugged in: the detector's listeners, the HTTP routers, what each adds to a shipment's
detail, and the scheduled jobs. Adding a feature means adding its lines here, and nowhere else."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter

from claims import claims_of
from claims import tasks as claims_tasks
from claims.gauges import claim_gauges
from notifier import alerts_of, outbox_of
from notifier import tasks as notifier_tasks
from notifier.gauges import outbox_gauges
from scheduler import Schedule, Scheduled
from tracker.clock import Clock
from tracker.config import Settings
from tracker.detector import tasks as detector_tasks
from tracker.ingest import tasks as ingest_tasks
from tracker.metrics import tasks as metrics_tasks
from tracker.polling import tasks as polling_tasks
from tracker.polling.gauges import poll_gauges
from tracker.probes import Gauge
from tracker.pushes import tasks as push_tasks
from tracker.runtime import Runtime
from tracker.runtime import open_runtime as open_bare_runtime

# Every scheduled job, both modes: how often it runs, how long one run may take; ``slots``: scaled mode queues
# several runs at once (each claims its own rows); ``overdue``: the sweeper's check for work that waits too long.
SCHEDULE: Schedule = (
    Scheduled(polling_tasks.poll_due, 60, 600, slots=True, overdue=polling_tasks.overdue_polls),
    Scheduled(push_tasks.apply_pushes, 30, 300, slots=True),  # what no kick applied; parked pushes now matched
    Scheduled(push_tasks.purge_pushes, 3600, 600),
    Scheduled(detector_tasks.detect_sweep, 900, 600),
    Scheduled(notifier_tasks.dispatch, 30, 300, slots=True, overdue=notifier_tasks.overdue_messages),
    Scheduled(notifier_tasks.sla_alerts, 900, 300),
    Scheduled(ingest_tasks.purge_expired, 3600, 600),
    Scheduled(claims_tasks.file_claims, 300, 600, overdue=claims_tasks.stuck_filings),
    Scheduled(claims_tasks.follow_claims, 3600, 900),
    Scheduled(claims_tasks.watch_claims, 900, 600),
    Scheduled(metrics_tasks.rollup_metrics, 900, 900),  # scorecards lag what happened by at most this
)


# What /metrics reads from the database at each scrape, feature by feature.
GAUGES: tuple[Gauge, ...] = (poll_gauges, outbox_gauges, claim_gauges)


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
    from tracker.monitoring import api as monitoring_api
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
        monitoring_api.router(GAUGES),  # /metrics for Prometheus
        customer_pages.router,
        *dashboard_routers(),  # the ops dashboard's pages, under /dashboard
    ]


def wire(runtime: Runtime) -> None:
    """Register what listens to the detector (in the same transaction), the ops alert sink and every job by name."""
    runtime.listeners.append(outbox_of(runtime))  # incidents and status moves queue notifications
    runtime.listeners.append(claims_of(runtime))  # claimable incidents open claims; moves reassess them
    runtime.alert = alerts_of(runtime)  # what features tell ops goes out through the notifier
    runtime.jobs.update({entry.name: entry.job for entry in SCHEDULE})


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """A runtime with every feature wired."""
    async with open_bare_runtime(settings, clock, setup=wire) as runtime:
        yield runtime
