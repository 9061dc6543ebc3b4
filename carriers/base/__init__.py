"""The carrier-neutral base: vocabulary, results, errors, adapter protocol and registry."""

from carriers.base.adapter import AccountConfig, CarrierSpec, MakeFiler, Now, Sleep, Tracker, VerifyPush
from carriers.base.claims import Answer, ClaimFiler, ClaimRequest, Filing, Manifestation, Outcome
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
    "Answer",
    "AuthFailed",
    "CarrierError",
    "CarrierSpec",
    "CarrierUnavailable",
    "ClaimFiler",
    "ClaimRequest",
    "ContractError",
    "Filing",
    "MakeFiler",
    "MalformedResponse",
    "Manifestation",
    "NotSupported",
    "Now",
    "Outcome",
    "RateLimited",
    "Reason",
    "ResultError",
    "Sleep",
    "Status",
    "Tracker",
    "TrackingEvent",
    "TrackingResult",
    "TransientError",
    "VerifyPush",
]
