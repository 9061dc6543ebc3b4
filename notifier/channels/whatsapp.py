"""WhatsApp Cloud API: approved template messages only (``POST /{phone_number_id}/messages``), which may
be sent outside the 24-hour customer-service window. Graph errors are mapped by ``error.code`` first,
then by HTTP status. The Cloud API offers no idempotency key, so a resend may deliver twice. Template
parameters are made into what WhatsApp takes (one line, no run of spaces, not empty, bounded)."""

import re
from typing import Any

import httpx
import structlog

from notifier.channels.base import (
    ChannelError,
    Handed,
    Outgoing,
    PermanentFailure,
    Sent,
    TemporaryFailure,
    mask_address,
    unrecorded,
)

log = structlog.get_logger(__name__)

DEFAULT_RETRY_AFTER = 60.0
PARAM_LIMIT = 200  # characters per parameter: three of them and the text stay within a body's 1,024
_PHONE = re.compile(r"\+?\d[\d ()-]{8,}\d")  # a number echoed back in an error text
RATE_LIMITED = frozenset({4, 80007, 130429, 131048, 131056})  # app, account, throughput, spam, pair limits
UNAVAILABLE = frozenset({1, 2, 131000, 131016})  # unknown/service errors, overloaded
OUTSIDE_WINDOW = frozenset({131047})  # more than 24 h since the customer last wrote: only templates go
AUTH = frozenset({0, 3, 10, 190, *range(200, 300)})  # token expired or revoked, missing permission
NOT_ON_WHATSAPP = frozenset({131026})  # the number cannot receive WhatsApp messages
REJECTED = frozenset({100, 131008, 131009, 131051, 132000, 132001, 132005, 132007, 132012})


def template_param(value: str, limit: int = PARAM_LIMIT) -> str:
    """``value`` as WhatsApp takes a template parameter: newlines, tabs and runs of spaces (it refuses more
    than four) as one space, at most ``limit`` characters (with "…"), never empty."""
    flat = " ".join(value.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat or "-"


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER  # absent, or an HTTP date: Meta sends seconds when it sends anything


class WhatsAppChannel:
    name = "whatsapp"
    supports_idempotency = False

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        phone_number_id: str,
        token: str,
        base_url: str = "https://graph.facebook.com/v21.0",
    ) -> None:
        self._http = http
        self._url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {token}"}

    def body(self, message: Outgoing) -> dict[str, Any]:
        if not message.template:
            raise PermanentFailure("whatsapp_rejected", "WhatsApp needs an approved template name to send")
        template: dict[str, Any] = {"name": message.template, "language": {"code": message.language}}
        if message.template_params:
            parameters = [{"type": "text", "text": template_param(p)} for p in message.template_params]
            template["components"] = [{"type": "body", "parameters": parameters}]
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": re.sub(r"\D", "", message.to),
            "type": "template",
            "template": template,
        }

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent:
        body = self.body(message)
        await handed()
        try:
            response = await self._http.post(self._url, json=body, headers=self._headers)
        except httpx.TimeoutException as exc:
            raise TemporaryFailure(
                "whatsapp_unavailable", f"WhatsApp Cloud API timed out: {type(exc).__name__}"
            ) from exc
        except httpx.TransportError as exc:
            raise TemporaryFailure(
                "whatsapp_unavailable", f"WhatsApp Cloud API unreachable: {type(exc).__name__}"
            ) from exc
        if response.is_success:
            try:
                provider_id = str(response.json()["messages"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError):
                provider_id = None  # accepted all the same; the status webhook will tell the rest
            log.info("whatsapp_sent", to=mask_address(message.to), notification_id=message.notification_id)
            return Sent(provider_id=provider_id)
        error = self.classify(response)
        log.warning("whatsapp_refused", to=mask_address(message.to), status=response.status_code, code=error.code)
        raise error

    @staticmethod
    def classify(response: httpx.Response) -> ChannelError:
        """The failure a non-2xx Graph API response stands for."""
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        said = _PHONE.sub("***", str(details or error.get("message") or response.reason_phrase))
        text = f"HTTP {status}, error {code}: {said}"
        if status == 429 or code in RATE_LIMITED:
            return TemporaryFailure("whatsapp_rate_limited", text, retry_after=_retry_after(response))
        if code in OUTSIDE_WINDOW:
            return PermanentFailure("outside_window", text)
        if status == 401 or code in AUTH:
            return PermanentFailure("whatsapp_auth", text)
        if code in NOT_ON_WHATSAPP:
            return PermanentFailure("whatsapp_recipient", text)
        if code in REJECTED:
            return PermanentFailure("whatsapp_rejected", text)
        if status >= 500 or code in UNAVAILABLE:
            return TemporaryFailure("whatsapp_unavailable", text)
        return PermanentFailure("whatsapp_rejected", text)

    async def aclose(self) -> None:
        """The HTTP client belongs to the caller, who closes it."""
