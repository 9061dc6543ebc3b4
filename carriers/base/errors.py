"""Carrier faults. Business answers (object not found yet, invalid code) are *data* in a
:class:`~carriers.base.results.TrackingResult`; only transport and contract faults raise.

    CarrierError                  code
    ├── NotSupported              not_supported      the adapter lacks the operation
    ├── AuthFailed                auth_failed        credentials refused (401/403 on the token)
    ├── ContractError             contract_error     an answer we cannot read (bad JSON, wrong shape)
    └── TransientError                               worth retrying later
        ├── CarrierUnavailable    carrier_unavailable  5xx, connection refused, timeout
        ├── MalformedResponse     malformed_response   a body that is not valid JSON (truncated, HTML)
        └── RateLimited           rate_limited         429; ``retry_after`` seconds when given
"""


class CarrierError(Exception):
    """Root of every carrier fault; ``code`` is a stable machine-readable name."""

    code = "carrier_error"

    def __init__(self, message: str, *, carrier: str = "") -> None:
        super().__init__(message)
        self.carrier = carrier

    def __str__(self) -> str:
        prefix = f"{self.carrier}: " if self.carrier else ""
        return f"{prefix}{self.args[0]}"


class NotSupported(CarrierError):
    code = "not_supported"

    def __init__(self, operation: str, *, carrier: str) -> None:
        super().__init__(f"operation {operation!r} is not supported by this carrier", carrier=carrier)
        self.operation = operation


class AuthFailed(CarrierError):
    code = "auth_failed"


class ContractError(CarrierError):
    code = "contract_error"


class TransientError(CarrierError):
    code = "transient_error"


class CarrierUnavailable(TransientError):
    code = "carrier_unavailable"


class MalformedResponse(TransientError):
    code = "malformed_response"


class RateLimited(TransientError):
    code = "rate_limited"

    def __init__(self, message: str, *, carrier: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, carrier=carrier)
        self.retry_after = retry_after
