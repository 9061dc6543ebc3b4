"""The ``/_sandbox`` control endpoints (not Correios): register parcels, move the clock, set faults, stats, and a
log of tracking requests.

Bad input answers 400 (not JSON) or 422 ``{"msgs": [...]}`` naming the field; nothing is changed then.
"""

import json
import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carriers.sandbox.model import Parcel
from carriers.sandbox.state import Faults, RequestLog, SandboxState

Endpoint = Callable[[Request], Awaitable[Response]]
FAULT_FIELDS = (
    "outages",
    "rate_limit_per_s",
    "latency_ms",
    "token_ttl_s",
    "pi_error_rate",
    "pi_seed",
    "pi_blocked_motivos",
    "error_rate",
)


class Invalid(ValueError):
    """A control request that cannot be applied; the message names the field."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def msgs(status: int, *messages: str) -> JSONResponse:
    """The Correios error shape: ``{"msgs": [...]}``."""
    return JSONResponse({"msgs": list(messages)}, status_code=status)


def counted(state: SandboxState, name: str, endpoint: Endpoint) -> Endpoint:
    """Wrap ``endpoint`` so every answer is counted under ``name`` and its status code."""

    async def wrapper(request: Request) -> Response:
        response = await endpoint(request)
        state.count(name, response.status_code)
        return response

    return wrapper


def control_routes(state: SandboxState) -> list[Route]:
    """The ``/_sandbox/*`` routes acting on ``state``, each counted in its stats."""

    async def parcels(request: Request) -> Response:
        body = await _object(request)
        raw = body.get("parcels")
        if not isinstance(raw, list):
            raise Invalid(f"'parcels' must be a list of {{code, scenario, start}}, got {raw!r}")
        registered = state.register([_parcel(item, i) for i, item in enumerate(raw)])
        return JSONResponse({"registered": registered, "total": len(state.parcels)})

    async def clock(request: Request) -> Response:
        if request.method == "PUT":
            when = _aware((await _object(request)).get("now"), "now")
            try:
                state.set_clock(when)
            except TypeError as exc:
                return msgs(409, str(exc))
        return JSONResponse({"now": state.clock.now().isoformat()})

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            _apply_faults(state.faults, await _object(request))
        return JSONResponse(_faults_json(state.faults))

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    async def requests(request: Request) -> Response:
        """PUT ``{"record": true}`` starts a fresh log of tracking requests (false stops it); GET reads it."""
        if request.method == "PUT":
            record = (await _object(request)).get("record")
            if not isinstance(record, bool):
                raise Invalid(f"record: expected true or false, got {record!r}")
            state.log = RequestLog() if record else None
        return JSONResponse(state.log.summary() if state.log is not None else {"recording": False})

    def guarded(endpoint: Endpoint) -> Endpoint:
        async def wrapper(request: Request) -> Response:
            try:
                return await endpoint(request)
            except Invalid as exc:
                return msgs(exc.status, str(exc))
            except ValueError as exc:
                return msgs(422, str(exc))

        return wrapper

    return [
        Route("/_sandbox/parcels", counted(state, "parcels", guarded(parcels)), methods=["POST"]),
        Route("/_sandbox/clock", counted(state, "clock", guarded(clock)), methods=["GET", "PUT"]),
        Route("/_sandbox/faults", counted(state, "faults", guarded(faults)), methods=["GET", "PUT"]),
        Route("/_sandbox/stats", counted(state, "stats", stats), methods=["GET"]),
        Route("/_sandbox/requests", counted(state, "requests", guarded(requests)), methods=["GET", "PUT"]),
    ]


async def _object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise Invalid("body: not valid JSON", 400) from None
    if not isinstance(body, dict):
        raise Invalid(f"body: expected a JSON object, got {type(body).__name__}", 400)
    return body


def _parcel(item: Any, index: int) -> Parcel:
    at = f"parcels[{index}]"
    if not isinstance(item, dict):
        raise Invalid(f"{at}: expected an object {{code, scenario, start}}, got {item!r}")
    code, scenario = item.get("code"), item.get("scenario")
    if not isinstance(code, str) or not code.strip():
        raise Invalid(f"{at}.code: expected a tracking code string, got {code!r}")
    if not isinstance(scenario, str):
        raise Invalid(f"{at}.scenario: expected a scenario name, got {scenario!r}")
    carrier = item.get("carrier", "correios")
    if not isinstance(carrier, str) or not carrier:
        raise Invalid(f"{at}.carrier: expected a carrier name such as 'jadlog', got {carrier!r}")
    return Parcel(code.strip().upper(), scenario, _aware(item.get("start"), f"{at}.start"), carrier)


def _aware(value: Any, field: str) -> datetime:
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.utcoffset() is None:
        raise Invalid(f"{field}: expected an ISO-8601 date-time with an offset, got {value!r}")
    return when


def _apply_faults(faults: Faults, patch: dict[str, Any]) -> None:
    """Validate the whole patch first, then apply it."""
    unknown = sorted(set(patch) - set(FAULT_FIELDS))
    if unknown:
        raise Invalid(f"unknown fault field(s) {unknown}; allowed: {', '.join(FAULT_FIELDS)}")
    changes: dict[str, Any] = {}
    if "outages" in patch:
        changes["outages"] = _outages(patch["outages"])
    if "rate_limit_per_s" in patch:
        rate = patch["rate_limit_per_s"]
        if rate is not None and not (_is_number(rate) and rate > 0):
            raise Invalid(f"rate_limit_per_s: expected null or a number > 0, got {rate!r}")
        changes["rate_limit_per_s"] = None if rate is None else float(rate)
    for name, minimum in (("latency_ms", 0), ("token_ttl_s", 1)):
        if name in patch:
            value = patch[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise Invalid(f"{name}: expected a whole number >= {minimum}, got {value!r}")
            changes[name] = value
    if "pi_error_rate" in patch:
        rate = patch["pi_error_rate"]
        if not (_is_number(rate) and 0 <= rate <= 1):
            raise Invalid(f"pi_error_rate: expected a number from 0 to 1, got {rate!r}")
        changes["pi_error_rate"] = float(rate)
    if "pi_seed" in patch:
        seed = patch["pi_seed"]
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise Invalid(f"pi_seed: expected a whole number, got {seed!r}")
        changes["pi_seed"] = seed
    if "pi_blocked_motivos" in patch:
        blocked = patch["pi_blocked_motivos"]
        if not isinstance(blocked, list) or not all(isinstance(m, int) and not isinstance(m, bool) for m in blocked):
            raise Invalid(f"pi_blocked_motivos: expected a list of motivo codes such as [133], got {blocked!r}")
        changes["pi_blocked_motivos"] = tuple(blocked)
    if "error_rate" in patch:
        rates = patch["error_rate"]
        if not isinstance(rates, dict) or not all(_is_number(r) and 0 <= r <= 1 for r in rates.values()):
            raise Invalid(f"error_rate: expected an object of carrier → number from 0 to 1, got {rates!r}")
        changes["error_rate"] = {str(k): float(v) for k, v in rates.items()}
    for name, value in changes.items():
        setattr(faults, name, value)


def _outages(raw: Any) -> list[tuple[datetime, datetime]]:
    if not isinstance(raw, list):
        raise Invalid(f"outages: expected a list of [from, to] pairs, got {raw!r}")
    windows = []
    for i, pair in enumerate(raw):
        if not isinstance(pair, list) or len(pair) != 2:
            raise Invalid(f"outages[{i}]: expected [from, to], got {pair!r}")
        start, end = _aware(pair[0], f"outages[{i}][0]"), _aware(pair[1], f"outages[{i}][1]")
        if end <= start:
            raise Invalid(f"outages[{i}]: 'to' must be after 'from', got {pair!r}")
        windows.append((start, end))
    return windows


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _faults_json(faults: Faults) -> dict[str, Any]:
    return {
        "outages": [[start.isoformat(), end.isoformat()] for start, end in faults.outages],
        "rate_limit_per_s": faults.rate_limit_per_s,
        "latency_ms": faults.latency_ms,
        "token_ttl_s": faults.token_ttl_s,
        "pi_error_rate": faults.pi_error_rate,
        "pi_seed": faults.pi_seed,
        "pi_blocked_motivos": list(faults.pi_blocked_motivos),
        "error_rate": dict(faults.error_rate),
    }
