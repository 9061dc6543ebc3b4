"""HTTP only: one Melhor Envio account's OAuth2 access token and authenticated JSON calls.

Every call carries ``Authorization: Bearer <token>`` and the ``User-Agent: <app name> (<contact email>)``
Melhor Envio requires. A 401 renews the access token once with the refresh token
(``POST /oauth/token``, ``grant_type=refresh_token``) when the account has ``client_id``, ``client_secret``
and ``refresh_token``, then :class:`AuthFailed`. The renewed tokens (Melhor Envio rotates the refresh token
too) are kept in memory per HTTP client and account, like the Correios token slot; they are not written back
to the account's credentials.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from carriers.base import AccountConfig, AuthFailed, ContractError
from carriers.base.http import checked, expect_object, json_body, send
from carriers.base.tokens import TokenSlots, answer_keys, bearer
from carriers.melhorenvio.parse import CARRIER

TOKEN_PATH = "/oauth/token"
REQUIRED = ("token", "contact_email")
REFRESH = ("client_id", "client_secret", "refresh_token")
DEFAULT_APP_NAME = "Zelo"


@dataclass
class _Token:
    access: str
    refresh: str | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_TOKENS: TokenSlots[_Token] = TokenSlots()


def _token_slot(http: httpx.AsyncClient, account: AccountConfig) -> _Token:
    creds = account.credentials
    identity = (account.base_url.rstrip("/"), creds["token"], creds.get("client_id", ""))
    return _TOKENS.slot(http, identity, lambda: _Token(creds["token"], creds.get("refresh_token") or None))


class MelhorEnvioSession:
    """Authenticated calls for one account; ``request`` is one attempt, callers wrap it in retries."""

    def __init__(self, account: AccountConfig, http: httpx.AsyncClient) -> None:
        creds = account.credentials
        missing = [f for f in REQUIRED if not creds.get(f)]
        if missing:
            raise ValueError(f"Melhor Envio account {account.name!r} lacks credentials: {', '.join(missing)}")
        self.account = account
        self._http = http
        self._base = account.base_url.rstrip("/")
        self._slot = _token_slot(http, account)
        app = (creds.get("app_name") or DEFAULT_APP_NAME).strip()
        self.user_agent = f"{app} ({creds['contact_email'].strip()})"

    @property
    def can_refresh(self) -> bool:
        creds = self.account.credentials
        return bool(creds.get("client_id") and creds.get("client_secret") and self._slot.refresh)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One authenticated call; its response (any status but 401/403). A 401 gets one renewed token."""
        token = self._slot.access
        response = await self._send(method, path, token, **kwargs)
        if response.status_code == 401:
            if not self.can_refresh:
                raise AuthFailed(
                    f"{method} {path} refused the access token (HTTP 401) and account {self.account.name!r} has no "
                    f"{', '.join(REFRESH)} to renew it: give a new token",
                    carrier=CARRIER,
                )
            await self._refresh(token)
            response = await self._send(method, path, self._slot.access, **kwargs)
            if response.status_code == 401:
                raise AuthFailed(f"{method} {path} refused a renewed access token (HTTP 401)", carrier=CARRIER)
        if response.status_code == 403:
            raise AuthFailed(
                f"{method} {path} answered HTTP 403: the token of account {self.account.name!r} lacks the "
                "permission (scope) for this call",
                carrier=CARRIER,
            )
        return response

    async def _refresh(self, refused: str) -> None:
        slot = self._slot
        async with slot.lock:
            if slot.access != refused:  # another call renewed it meanwhile
                return
            creds = self.account.credentials
            form = {
                "grant_type": "refresh_token",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "refresh_token": slot.refresh or "",
            }
            response = await send(
                self._http,
                "POST",
                self._base + TOKEN_PATH,
                carrier=CARRIER,
                data=form,
                headers={"Accept": "application/json", "User-Agent": self.user_agent},
            )
            if response.status_code in (400, 401, 403):
                raise AuthFailed(
                    f"the refresh token of account {self.account.name!r} was refused (HTTP {response.status_code}): "
                    "authorize the app again and give the new tokens",
                    carrier=CARRIER,
                )
            body = expect_object(
                json_body(checked(response, carrier=CARRIER, echo=False), carrier=CARRIER, echo=False),
                "token answer",
                carrier=CARRIER,
            )
            if "access_token" not in body:
                raise ContractError(f"token answer lacks 'access_token': keys {answer_keys(body)}", carrier=CARRIER)
            access = bearer(body["access_token"], "access_token", carrier=CARRIER)
            renewed = body.get("refresh_token")
            slot.access = access
            if isinstance(renewed, str) and renewed:
                slot.refresh = renewed

    async def _send(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": self.user_agent}
        return await send(self._http, method, self._base + path, carrier=CARRIER, headers=headers, **kwargs)
