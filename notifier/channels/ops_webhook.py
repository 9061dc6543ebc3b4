"""Ops alerts to a generic webhook: Slack-compatible JSON (``text`` plus one section block), signed per
Standard Webhooks by its official package, ``standardwebhooks`` (``webhook-id`` is the idempotency key, so a
receiver that dedupes on it never shows an alert twice however often it is resent). Alerts carry what
customers and the ERP wrote (a check-in's comment, an order number): every text is escaped as Slack asks (``&``,
``<``, ``>``), so none becomes a mention (``<!channel>``) or a disguised link (``<https://…|label>``)."""

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from standardwebhooks import Webhook

from notifier.channels.base import Handed, Outgoing, PermanentFailure, Sent, TemporaryFailure, unrecorded
from tracker.signatures import parse_secrets

log = structlog.get_logger(__name__)

SLACK_SECTION_LIMIT = 3000  # characters of mrkdwn a Slack section block takes
SLACK_HEADER_LIMIT = 150
_HALF_ENTITY = re.compile(r"&[a-z]{0,3}$")


def slack_text(text: str, limit: int | None = None) -> str:
    """``text`` shown as it is: Slack's three control characters as entities, cut to ``limit`` characters
    (with "…") never inside an entity."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if limit is None or len(escaped) <= limit:
        return escaped
    return _HALF_ENTITY.sub("", escaped[: limit - 1]) + "…"


def slack_body(message: Outgoing) -> dict[str, Any]:
    section = {"type": "mrkdwn", "text": slack_text(message.text, SLACK_SECTION_LIMIT)}
    blocks: list[dict[str, Any]] = [{"type": "section", "text": section}]
    if message.subject:
        header = {"type": "plain_text", "text": slack_text(message.subject, SLACK_HEADER_LIMIT)}
        blocks.insert(0, {"type": "header", "text": header})
    return {"text": slack_text(message.text), "blocks": blocks, **(message.payload or {})}


class OpsWebhookChannel:
    name = "ops_webhook"
    supports_idempotency = True

    def __init__(
        self, http: httpx.AsyncClient, *, url: str, secret: str, clock: Callable[[], float] = time.time
    ) -> None:
        """``secret`` is a Standard Webhooks ``whsec_<base64>`` secret (the first one, when several are given)."""
        self._http = http
        self._url = url
        self._signer = Webhook(parse_secrets(secret)[0])  # ours checks the secret's form (strict base64)
        self._clock = clock

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent:
        text = json.dumps(slack_body(message), ensure_ascii=False, separators=(",", ":"))
        body = text.encode()
        stamp = int(self._clock())
        signature = self._signer.sign(message.idempotency_key, datetime.fromtimestamp(stamp, UTC), text)
        headers = {
            "content-type": "application/json",
            "webhook-id": message.idempotency_key,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
        }
        await handed()
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise TemporaryFailure("webhook_unavailable", f"ops webhook unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if response.is_success:
            log.info("ops_webhook_sent", notification_id=message.notification_id, status=status)
            return Sent(provider_id=str(status))
        log.warning("ops_webhook_refused", notification_id=message.notification_id, status=status)
        if status in (408, 429) or status >= 500:
            raise TemporaryFailure(
                "webhook_unavailable", f"ops webhook answered HTTP {status}", retry_after=_after(response)
            )
        raise PermanentFailure("webhook_rejected", f"ops webhook refused the alert: HTTP {status}")

    async def aclose(self) -> None:
        """The HTTP client belongs to the caller, who closes it."""


def _after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None
