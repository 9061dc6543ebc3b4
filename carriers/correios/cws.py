"""HTTP only: one Correios account's CWS session — the bearer token and authenticated JSON calls.

The tracking client and the claim filer of an account talk through a :class:`CwsSession`. The token
(``POST /token/v1/autentica/cartaopostagem``, refreshed before ``expiraEm``) is kept per HTTP client and
account, so a tracker and a filer built on the same ``httpx.AsyncClient`` share one token.
"""

import asyncio
import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from carriers.base import (
    AccountConfig,
    AuthFailed,
    ContractError,
    Now,
    Sleep,
)
from carriers.base.http import checked, json_body, send
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.base.tokens import TokenSlots
from carriers.correios.parse import CARRIER, LOCAL_TZ

TOKEN_PATH = "/token/v1/autentica/cartaopostagem"
REFRESH_BEFORE = timedelta(hours=4)  # refresh the token this long before expiraEm (or at half-life)
REQUIRED = ("user", "access_code", "posting_card")


@dataclass
class _Token:
    value: str | None = None
    refresh_at: datetime | None = None
    contract: str | None = None  # cartaoPostagem.contrato of the token answer
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_TOKENS: TokenSlots[_Token] = TokenSlots()


def _token_slot(http: httpx.AsyncClient, account: AccountConfig) -> _Token:
    creds = account.credentials
    identity = (account.base_url.rstrip("/"), creds["user"], creds["access_code"], creds["posting_card"])
    return _TOKENS.slot(http, identity, _Token)


class CwsSession:
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
            raise ValueError(f"Correios account {account.name!r} lacks credentials: {', '.join(missing)}")
        self.account = account
        self.retry = retry
        self.sleep = sleep
        self._http = http
        self._now = now
        self._base = account.base_url.rstrip("/")
        self._token = _token_slot(http, account)

    async def contract(self) -> str | None:
        """The contract the posting card belongs to, as the token answer says (after a token is fetched)."""
        await self._auth_header()
        return self._token.contract

    async def request(
        self, method: str, path: str, *, data_statuses: tuple[int, ...] = (), echo: bool = True, **kwargs: Any
    ) -> Any:
        """One authenticated call; its JSON body. A 401/403 gets one fresh token, then :class:`AuthFailed`.

        A status in ``data_statuses`` (a 4xx whose JSON body is a business answer) is returned as data;
        ``echo=False`` keeps the body out of error messages (it may echo what we sent: customer data).
        """
        response = await self._send(method, path, headers=await self._auth_header(), **kwargs)
        if response.status_code in (401, 403):
            self._token.value = None  # expired or revoked early: one fresh token, then give up
            response = await self._send(method, path, headers=await self._auth_header(), **kwargs)
            if response.status_code in (401, 403):
                status = response.status_code
                raise AuthFailed(f"{method} {path} refused with a fresh token (HTTP {status})", carrier=CARRIER)
        if response.status_code in data_statuses:
            return _json(response, echo=echo)
        return _json(_checked(response, echo=echo), echo=echo)

    async def _auth_header(self) -> dict[str, str]:
        slot = self._token
        async with slot.lock:
            if slot.value is None or slot.refresh_at is None or self._now() >= slot.refresh_at:
                await with_retries(self._authenticate, sleep=self.sleep, policy=self.retry)
            return {"Authorization": f"Bearer {slot.value}"}

    async def _authenticate(self) -> None:
        creds = self.account.credentials
        basic = base64.b64encode(f"{creds['user']}:{creds['access_code']}".encode()).decode()
        response = await self._send(
            "POST",
            TOKEN_PATH,
            json={"numero": creds["posting_card"]},
            headers={"Authorization": f"Basic {basic}"},
        )
        if response.status_code in (401, 403):
            raise AuthFailed(
                f"token refused for account {self.account.name!r} (HTTP {response.status_code}): "
                "check the user, access code and posting card",
                carrier=CARRIER,
            )
        body = _json(_checked(response))
        if not isinstance(body, dict):
            raise ContractError(f"token answer is not a JSON object: {type(body).__name__}", carrier=CARRIER)
        token, expires = body.get("token"), body.get("expiraEm")
        if not isinstance(token, str) or not isinstance(expires, str):
            raise ContractError(f"token answer lacks 'token' or 'expiraEm': keys {sorted(body)}", carrier=CARRIER)
        try:
            expires_at = datetime.fromisoformat(expires)
        except ValueError:
            raise ContractError(f"expiraEm {expires!r} is not an ISO date-time", carrier=CARRIER) from None
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=LOCAL_TZ)
        card = body.get("cartaoPostagem")
        contract = card.get("contrato") if isinstance(card, dict) else None
        slot = self._token
        slot.value = token
        slot.refresh_at = expires_at - min(REFRESH_BEFORE, (expires_at - self._now()) / 2)
        slot.contract = str(contract) if isinstance(contract, str | int) and not isinstance(contract, bool) else None

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await send(self._http, method, self._base + path, carrier=CARRIER, **kwargs)


def _checked(response: httpx.Response, *, echo: bool = True) -> httpx.Response:
    return checked(response, carrier=CARRIER, echo=echo)


def _json(response: httpx.Response, *, echo: bool = True) -> Any:
    return json_body(response, carrier=CARRIER, echo=echo)
