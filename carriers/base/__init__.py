"""The carrier-neutral base: vocabulary, results, errors, adapter protocol and registry."""

from carriers.base.adapter import AccountConfig, CarrierSpec, Now, Sleep, Tracker
from carriers.base.errors import (
    AuthFailed,
    CarrierError,
    CarrierUnavailable,
    ContractError,
    MalformedResponse,
    NotSupported,
    RateLimited,
    TransientError,
)
from carriers.base.results import ResultError, TrackingEvent, TrackingResult
from carriers.base.vocabulary import Reason, Status

__all__ = [
    "AccountConfig",
    "AuthFailed",
    "CarrierError",
    "CarrierSpec",
    "CarrierUnavailable",
    "ContractError",
    "MalformedResponse",
    "NotSupported",
    "Now",
    "RateLimited",
    "Reason",
    "ResultError",
    "Sleep",
    "Status",
    "Tracker",
    "TrackingEvent",
    "TrackingResult",
    "TransientError",
]
