"""The detector: turns where a parcel is (and how long it has been silent) into incidents (ocorrências).

``rules`` are pure functions of a shipment's facts; ``service`` reconciles their findings with the stored
incidents (open, escalate, reopen, resolve) in the caller's transaction; ``sweep`` finds the shipments that
time alone may have put in trouble, with indexed queries, page by page.

Its front door, for the other features: :func:`detector_of` (the process's detector, telling the runtime's
listeners), :meth:`Detector.evaluate` then :meth:`Detector.settle` (the poll pipeline),
:meth:`Detector.report` (a finding from outside the carrier's data), the incident tables, and a person's
change to an incident (:func:`change` of an :class:`IncidentPatch`, refused with a :class:`LifecycleError`).
"""

from tracker.detector.lifecycle import LifecycleError, change
from tracker.detector.models import Incident, IncidentChange, changes_table, incidents_table
from tracker.detector.schemas import IncidentPatch
from tracker.detector.service import Detected, Detector, Evaluation
from tracker.runtime import Runtime

__all__ = [
    "Detected",
    "Detector",
    "Evaluation",
    "Incident",
    "IncidentChange",
    "IncidentPatch",
    "LifecycleError",
    "change",
    "changes_table",
    "detector_of",
    "incidents_table",
]


def detector_of(runtime: Runtime) -> Detector:
    """The process's detector (it keeps its transit-time estimates between runs)."""
    return runtime.service(_detector)


def _detector(runtime: Runtime) -> Detector:
    return Detector(listeners=runtime.listeners)
