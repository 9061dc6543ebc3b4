"""HTTP helpers every carrier client shares: one attempt's transport faults, status codes and JSON body mapped
onto the carrier error tree (:mod:`carriers.base.errors`). Clients wrap calls in ``retry.with_retries``.
"""

import json
from typing import Any

import httpx
import orjson

from carriers.base.errors import CarrierUnavailable, ContractError, MalformedResponse, RateLimited
from carriers.base.retry import parse_retry_after


async def send(http: httpx.AsyncClient, method: str, url: str, *, carrier: str, **kwargs: Any) -> httpx.Response:
    """One request; a timeout or a connection fault is :class:`CarrierUnavailable` (retried)."""
    try:
        return await http.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        where = f"{method} {httpx.URL(url).path}"
        raise CarrierUnavailable(f"{where} timed out ({type(exc).__name__})", carrier=carrier) from exc
    except httpx.TransportError as exc:
        where = f"{method} {httpx.URL(url).path}"
        raise CarrierUnavailable(f"{where} failed: {type(exc).__name__}: {exc}", carrier=carrier) from exc


def checked(response: httpx.Response, *, carrier: str, echo: bool = True) -> httpx.Response:
    """The response if 2xx/3xx; 429 → :class:`RateLimited` (with ``Retry-After``), 5xx → :class:`CarrierUnavailable`,
    other 4xx → :class:`ContractError`. ``echo=False`` keeps the body out of the message (it may echo customer data)."""
    status = response.status_code
    if status < 400:
        return response
    where = f"{response.request.method} {response.request.url.path}"
    text = response.text if echo else _withheld(response)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise RateLimited(f"{where} rate limited (HTTP 429)", carrier=carrier, retry_after=retry_after)
    if status >= 500:
        raise CarrierUnavailable(f"{where} answered HTTP {status}: {text[:200]!r}", carrier=carrier)
    raise ContractError(f"{where} answered HTTP {status}: {text[:300]!r}", carrier=carrier)


def json_body(response: httpx.Response, *, carrier: str, echo: bool = True) -> Any:
    """The decoded JSON body; a body that is not JSON (truncated, an HTML error page) is :class:`MalformedResponse`."""
    try:
        return loads(response.content)
    except ValueError:
        where = f"{response.request.method} {response.request.url.path}"
        text = response.text if echo else _withheld(response)
        raise MalformedResponse(
            f"{where} answered HTTP {response.status_code} with a body that is not JSON: {text[:120]!r}",
            carrier=carrier,
        ) from None


def loads(body: bytes) -> Any:
    """``body`` decoded: orjson (about half the stdlib's CPU on a Correios answer), and what orjson refuses but
    the stdlib reads (a UTF-8 byte order mark, UTF-16, ``NaN``) through the stdlib, so both accept the same bodies;
    ValueError if neither does — also for a body nested deeper than orjson's 1024 levels (the stdlib would
    raise RecursionError on it). Integers beyond 64 bits come back as floats (no carrier sends them)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            return json.loads(body)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def expect_object(body: Any, what: str, *, carrier: str) -> dict[str, Any]:
    """``body`` if it is a JSON object, else a :class:`ContractError` naming what was expected."""
    if not isinstance(body, dict):
        raise ContractError(f"{what} is not a JSON object: {type(body).__name__}", carrier=carrier)
    return body


def _withheld(response: httpx.Response) -> str:
    """What stands for a body kept out of a message: its size and media type (enough to tell an HTML page)."""
    kind = response.headers.get("Content-Type", "no Content-Type").split(";")[0].strip()[:60]
    return f"<{len(response.content)} bytes of {kind} withheld>"
