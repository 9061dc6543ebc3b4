"""What a process counts for Prometheus, and the gauges read from the database at scrape time.

Counters and histograms live in this process's registry (each API replica and each worker has its own:
Prometheus sums them). Gauges that describe the work waiting (due polls, the outbox, claims near their
deadline) are read from the database, where the truth is, by the functions each feature contributes
(:data:`Gauge`); the composition root lists them and ``/metrics`` reads them at scrape time.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

REGISTRY = CollectorRegistry(auto_describe=True)
JOBS = Counter(
    "zelo_jobs", "Scheduled job runs, by job and outcome (ok, failed).", ["job", "outcome"], registry=REGISTRY
)
JOB_SECONDS = Histogram(
    "zelo_job_seconds",
    "How long a job run took.",
    ["job"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
    registry=REGISTRY,
)
CARRIER_CALLS = Counter(
    "zelo_carrier_calls",
    "Carrier API batches, by carrier account and outcome (ok, or the error code: timeout, rate_limited, …).",
    ["account", "outcome"],
    registry=REGISTRY,
)


@dataclass(frozen=True)
class Sample:
    name: str  # zelo_… without a suffix
    help: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


Gauge = Callable[[AsyncSession, datetime], Awaitable[list[Sample]]]  # read at scrape time


class _Samples(Collector):
    """Gauges of one scrape, rendered beside the process's own counters."""

    def __init__(self, samples: Iterable[Sample]) -> None:
        self.samples = list(samples)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for s in self.samples:
            family = families.get(s.name)
            if family is None:
                family = families[s.name] = GaugeMetricFamily(s.name, s.help, labels=sorted(s.labels))
            family.add_metric([s.labels[k] for k in sorted(s.labels)], s.value)
        return families.values()


def render(samples: Iterable[Sample] = ()) -> bytes:
    """The Prometheus text exposition of this process's counters and ``samples``."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Samples(samples))
    return generate_latest(REGISTRY) + generate_latest(scrape)
