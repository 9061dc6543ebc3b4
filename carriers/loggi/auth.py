"""HTTP only: one Loggi account's session — the OAuth2 client-credentials token and authenticated calls.

``POST {base}/v2/oauth2/token`` with ``{"client_id", "client_secret"}`` answers ``{"idToken": ...}``, sent as
``Authorization: Bearer``. Its lifetime is read from ``expiresIn``/``expires_in`` (seconds) when the answer has
one, else from the ``exp`` claim of the token (Loggi's docs call it a JWT; it is read, not verified: only Loggi
checks it), else it is taken as one hour; a lifetime that is not a positive number of seconds up to a year, or an
``exp`` no date can hold, is not read. It is refreshed 5 minutes before it expires (or at half-life if shorter),
never sooner than :data:`carriers.base.tokens.MIN_REFRESH` after the answer (an ``exp`` already past, the
carrier's clock ahead of ours, is logged and the token used), and kept per HTTP client and account (a slot keyed
by a hash, no secret in clear as a key), so every tracker built on the same ``httpx.AsyncClient`` shares it.
A 401/403 gets one fresh token; refused again, :class:`AuthFailed` — one fresh token however many calls the
old one was refused to.
"""

import asyncio
import base64
import binascii
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from carriers.base import AccountConfig, AuthFailed, ContractError, Now, Sleep
from carriers.base.http import checked, expect_object, json_body, loads, send
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.base.tokens import MIN_REFRESH, TokenSlots, answer_keys, bearer, refresh_time
from carriers.loggi.parse import CARRIER

TOKEN_PATH = "/v2/oauth2/token"
REFRESH_BEFORE = timedelta(minutes=5)
DEFAULT_LIFETIME = timedelta(hours=1)  # when the answer says nothing of the token's expiry
REQUIRED = ("client_id", "client_secret", "company_id")
MAX_LIFETIME = timedelta(days=366)  # an expiresIn beyond this is not a lifetime but a fault: not read
REFUSED = (401, 403)

log = logging.getLogger(__name__)


@dataclass
class _Token:
    value: str | None = None
    refresh_at: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_TOKENS: TokenSlots[_Token] = TokenSlots()


def _token_slot(http: httpx.AsyncClient, account: AccountConfig) -> _Token:
    creds = account.credentials
    return _TOKENS.slot(http, (account.base_url.rstrip("/"), creds["client_id"], creds["client_secret"]), _Token)


class LoggiSession:
    """Authenticated calls for one account; ``request`` is one attempt, callers wrap it in retries."""

    def __init__(
        self,
        account: AccountConfig,
        http: httpx.AsyncClient,
        now: Now,
        sleep: Sleep,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        missing = [f for f in REQUIRED if not account.credentials.get(f)]
        if missing:
            raise ValueError(f"Loggi account {account.name!r} lacks credentials: {', '.join(missing)}")
        self.account = account
        self.retry = retry
        self.sleep = sleep
        self._http = http
        self._now = now
        self._base = account.base_url.rstrip("/")
        self._token = _token_slot(http, account)

    async def request(
        self, method: str, path: str, *, data_statuses: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """One authenticated call. A status in ``data_statuses`` is returned as it is (a business answer); any
        other status of 400 and up raises (:func:`carriers.base.http.checked`)."""
        token = await self._bearer()
        response = await self._send(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        if response.status_code in REFUSED:
            token = await self._bearer(stale=token)  # expired or revoked early: one fresh token, then give up
            response = await self._send(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            if response.status_code in REFUSED:
                status = response.status_code
                raise AuthFailed(f"{method} {path} refused with a fresh token (HTTP {status})", carrier=CARRIER)
        if response.status_code in data_statuses:
            return response
        return checked(response, carrier=CARRIER)

    async def _bearer(self, stale: str | None = None) -> str:
        """The current token; a new one when there is none, it is due for refresh, or it is ``stale`` (refused)
        — unless another call already replaced the stale one."""
        slot = self._token
        async with slot.lock:
            due = slot.refresh_at is None or self._now() >= slot.refresh_at
            if slot.value is None or due or (stale is not None and slot.value == stale):
                await with_retries(self._authenticate, sleep=self.sleep, policy=self.retry)
            assert slot.value is not None  # set by _authenticate or it raised
            return slot.value

    async def _authenticate(self) -> None:
        creds = self.account.credentials
        response = await self._send(
            "POST",
            TOKEN_PATH,
            json={"client_id": creds["client_id"], "client_secret": creds["client_secret"]},
            headers={"Accept": "application/json"},
        )
        if response.status_code in REFUSED:
            raise AuthFailed(
                f"token refused for account {self.account.name!r} (HTTP {response.status_code}): "
                "check the client_id and client_secret",
                carrier=CARRIER,
            )
        # echo=False: an error answer to this call may repeat the secret we sent
        body = expect_object(
            json_body(checked(response, carrier=CARRIER, echo=False), carrier=CARRIER, echo=False),
            "token answer",
            carrier=CARRIER,
        )
        if "idToken" not in body:
            raise ContractError(f"token answer lacks 'idToken': keys {answer_keys(body)}", carrier=CARRIER)
        raw = body["idToken"]
        token = bearer(raw.strip() if isinstance(raw, str) else raw, "idToken", carrier=CARRIER)
        now = self._now()
        expires = _expiry(body, token, now)
        if expires <= now:
            log.warning(
                "loggi_token_expiry_in_past: account %r, expires %s, now %s: token used, refreshed in %s",
                self.account.name,
                expires.isoformat(),
                now.isoformat(),
                MIN_REFRESH,
            )
        slot = self._token
        slot.value = token
        slot.refresh_at = refresh_time(expires, now, REFRESH_BEFORE)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await send(self._http, method, self._base + path, carrier=CARRIER, **kwargs)


def _expiry(body: dict[str, Any], token: str, now: datetime) -> datetime:
    for name in ("expiresIn", "expires_in"):
        seconds = _seconds(body.get(name))
        if seconds is not None:
            return now + timedelta(seconds=seconds)
    exp = _jwt_exp(token)
    if exp is not None:
        try:
            return datetime.fromtimestamp(exp, UTC)
        except (OverflowError, OSError, ValueError):  # no date-time holds it: as if the token said nothing
            pass
    return now + DEFAULT_LIFETIME


def _seconds(value: Any) -> float | None:
    """A lifetime in seconds (a positive number, or a string of ASCII digits) up to :data:`MAX_LIFETIME`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()  # more than 12 digits is past MAX_LIFETIME (and int() refuses thousands of them)
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None
    if isinstance(value, int | float) and math.isfinite(value) and 0 < value <= MAX_LIFETIME.total_seconds():
        return float(value)
    return None


def _jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of a JWT (seconds since the epoch), or None if the token is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        return None
    return float(exp)
