"""HTTP only: one Correios account's CWS session — the bearer token and authenticated JSON calls.

The tracking client and the claim filer of an account talk through a :class:`CwsSession`. The token
(``POST /token/v1/autentica/cartaopostagem``, refreshed before ``expiraEm``) is kept per HTTP client and
account, so a tracker and a filer built on the same ``httpx.AsyncClient`` share one token. A refused token
is replaced once however many calls it was refused to: each call names the token it carried, and only the
first to report it fetches a new one. An ``expiraEm`` already past (the carrier's clock ahead of ours) is
logged and the token used anyway, refreshed no sooner than :data:`carriers.base.tokens.MIN_REFRESH` later.
"""

import asyncio
import base64
import logging
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
from carriers.base.http import checked, expect_object, json_body, send
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.base.tokens import MIN_REFRESH, TokenSlots, answer_keys, bearer, refresh_time
from carriers.correios.parse import CARRIER, LOCAL_TZ

TOKEN_PATH = "/token/v1/autentica/cartaopostagem"
REFRESH_BEFORE = timedelta(hours=4)  # refresh the token this long before expiraEm (or at half-life)
REQUIRED = ("user", "access_code", "posting_card")

log = logging.getLogger(__name__)


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
        await self._bearer()
        return self._token.contract

    async def request(
        self, method: str, path: str, *, data_statuses: tuple[int, ...] = (), echo: bool = True, **kwargs: Any
    ) -> Any:
        """One authenticated call; its JSON body. A 401/403 gets one fresh token, then :class:`AuthFailed`.

        A status in ``data_statuses`` (a 4xx whose JSON body is a business answer) is returned as data;
        ``echo=False`` keeps the body out of error messages (it may echo what we sent: customer data).
        """
        token = await self._bearer()
        response = await self._send(method, path, headers=_authorization(token), **kwargs)
        if response.status_code in (401, 403):
            token = await self._bearer(stale=token)  # expired or revoked early: one fresh token, then give up
            response = await self._send(method, path, headers=_authorization(token), **kwargs)
            if response.status_code in (401, 403):
                status = response.status_code
                raise AuthFailed(f"{method} {path} refused with a fresh token (HTTP {status})", carrier=CARRIER)
        if response.status_code in data_statuses:
            return _json(response, echo=echo)
        return _json(_checked(response, echo=echo), echo=echo)

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
        # echo=False on the body: a 2xx answer to this call holds the token, whatever shape it came in
        body = expect_object(_json(_checked(response), echo=False), "token answer", carrier=CARRIER)
        if "token" not in body or "expiraEm" not in body:
            missing = " and ".join(repr(k) for k in ("token", "expiraEm") if k not in body)
            raise ContractError(f"token answer lacks {missing}: keys {answer_keys(body)}", carrier=CARRIER)
        token = bearer(body["token"], "token", carrier=CARRIER)
        expires_at = _expiry(body["expiraEm"])
        now = self._now()
        if expires_at <= now:
            log.warning(
                "correios_token_expiry_in_past: account %r, expiraEm %s, now %s: token used, refreshed in %s",
                self.account.name,
                expires_at.isoformat(),
                now.isoformat(),
                MIN_REFRESH,
            )
        card = body.get("cartaoPostagem")
        contract = card.get("contrato") if isinstance(card, dict) else None
        slot = self._token
        slot.value = token
        slot.refresh_at = refresh_time(expires_at, now, REFRESH_BEFORE)
        slot.contract = str(contract) if isinstance(contract, str | int) and not isinstance(contract, bool) else None

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await send(self._http, method, self._base + path, carrier=CARRIER, **kwargs)


def _authorization(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _expiry(value: Any) -> datetime:
    """``expiraEm`` as an aware date-time (Brasília time when it names no offset); ContractError if unreadable."""
    if not isinstance(value, str):
        raise ContractError(
            f"token answer's 'expiraEm' is {type(value).__name__}, expected an ISO date-time string", carrier=CARRIER
        )
    try:
        expires_at = datetime.fromisoformat(value)
    except ValueError:
        raise ContractError(
            f"token answer's 'expiraEm' {value[:40]!r} is not an ISO date-time (expected like 2026-11-03T08:00:00)",
            carrier=CARRIER,
        ) from None
    return expires_at if expires_at.tzinfo is not None else expires_at.replace(tzinfo=LOCAL_TZ)


def _checked(response: httpx.Response, *, echo: bool = True) -> httpx.Response:
    return checked(response, carrier=CARRIER, echo=echo)


def _json(response: httpx.Response, *, echo: bool = True) -> Any:
    return json_body(response, carrier=CARRIER, echo=echo)
