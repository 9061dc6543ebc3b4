"""HTTP only: the Correios CWS token and SRO Rastro calls, through an injected ``httpx.AsyncClient``."""

import asyncio
import base64
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from carriers.base import (
    AccountConfig,
    AuthFailed,
    CarrierUnavailable,
    ContractError,
    MalformedResponse,
    Now,
    RateLimited,
    Sleep,
    TrackingResult,
)
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, parse_retry_after, with_retries
from carriers.correios.parse import CARRIER, LOCAL_TZ, parse

TOKEN_PATH = "/token/v1/autentica/cartaopostagem"
TRACK_PATH = "/srorastro/v1/objetos"
BATCH_LIMIT = 50  # objects per tracking request (integrators' working limit)
REFRESH_BEFORE = timedelta(hours=4)  # refresh the token this long before expiraEm (or at half-life)


class CorreiosClient:
    batch_limit = BATCH_LIMIT

    def __init__(
        self,
        account: AccountConfig,
        http: httpx.AsyncClient,
        now: Now,
        sleep: Sleep,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        missing = [f for f in ("user", "access_code", "posting_card") if not account.credentials.get(f)]
        if missing:
            raise ValueError(f"Correios account {account.name!r} lacks credentials: {', '.join(missing)}")
        self._account = account
        self._http = http
        self._now = now
        self._sleep = sleep
        self._retry = retry
        self._base = account.base_url.rstrip("/")
        self._token: str | None = None
        self._refresh_at: datetime | None = None
        self._token_lock = asyncio.Lock()

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        if not 0 < len(codes) <= BATCH_LIMIT:
            raise ValueError(f"track() takes 1 to {BATCH_LIMIT} codes, got {len(codes)}")
        params = {"codigosObjetos": ",".join(codes), "resultado": "T"}
        payload = await with_retries(lambda: self._get_tracking(params), sleep=self._sleep, policy=self._retry)
        return parse(payload)

    async def _get_tracking(self, params: dict[str, str]) -> Any:
        response = await self._send("GET", TRACK_PATH, params=params, headers=await self._auth_header())
        if response.status_code in (401, 403):
            self._token = None  # expired or revoked early: one fresh token, then give up
            response = await self._send("GET", TRACK_PATH, params=params, headers=await self._auth_header())
            if response.status_code in (401, 403):
                raise AuthFailed(f"tracking refused with a fresh token (HTTP {response.status_code})", carrier=CARRIER)
        return _json(_checked(response))

    async def _auth_header(self) -> dict[str, str]:
        async with self._token_lock:
            if self._token is None or self._refresh_at is None or self._now() >= self._refresh_at:
                await with_retries(self._authenticate, sleep=self._sleep, policy=self._retry)
            return {"Authorization": f"Bearer {self._token}"}

    async def _authenticate(self) -> None:
        creds = self._account.credentials
        basic = base64.b64encode(f"{creds['user']}:{creds['access_code']}".encode()).decode()
        response = await self._send(
            "POST",
            TOKEN_PATH,
            json={"numero": creds["posting_card"]},
            headers={"Authorization": f"Basic {basic}"},
        )
        if response.status_code in (401, 403):
            raise AuthFailed(
                f"token refused for account {self._account.name!r} (HTTP {response.status_code}): "
                "check the user, access code and posting card",
                carrier=CARRIER,
            )
        body = _json(_checked(response))
        token, expires = body.get("token"), body.get("expiraEm")
        if not isinstance(token, str) or not isinstance(expires, str):
            raise ContractError(f"token answer lacks 'token' or 'expiraEm': keys {sorted(body)}", carrier=CARRIER)
        try:
            expires_at = datetime.fromisoformat(expires)
        except ValueError:
            raise ContractError(f"expiraEm {expires!r} is not an ISO date-time", carrier=CARRIER) from None
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=LOCAL_TZ)
        now = self._now()
        self._token = token
        self._refresh_at = expires_at - min(REFRESH_BEFORE, (expires_at - now) / 2)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, self._base + path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CarrierUnavailable(f"{method} {path} timed out ({type(exc).__name__})", carrier=CARRIER) from exc
        except httpx.TransportError as exc:
            raise CarrierUnavailable(f"{method} {path} failed: {type(exc).__name__}: {exc}", carrier=CARRIER) from exc


def _checked(response: httpx.Response) -> httpx.Response:
    status = response.status_code
    where = f"{response.request.method} {response.request.url.path}"
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise RateLimited(f"{where} rate limited (HTTP 429)", carrier=CARRIER, retry_after=retry_after)
    if status >= 500:
        raise CarrierUnavailable(f"{where} answered HTTP {status}: {response.text[:200]!r}", carrier=CARRIER)
    if status >= 400:
        raise ContractError(f"{where} answered HTTP {status}: {response.text[:300]!r}", carrier=CARRIER)
    return response


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        where = f"{response.request.method} {response.request.url.path}"
        raise MalformedResponse(
            f"{where} answered HTTP {response.status_code} with a body that is not JSON: {response.text[:120]!r}",
            carrier=CARRIER,
        ) from None
