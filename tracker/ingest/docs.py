"""The OpenAPI declarations of the ERP's door that FastAPI cannot infer: both routes read their bodies themselves
(the webhook's signature is over the raw bytes), and the webhook's headers are read by ``tracker.signatures``."""

from typing import Any

from tracker.ingest.schemas import ShipmentIn, WebhookEnvelope
from tracker.openapi import WEBHOOK, json_body
from tracker.signatures import MAX_ID_LENGTH, TOLERANCE_S

IDEMPOTENCY_KEY = (
    "A key of your choice (at most 255 characters), kept 24 hours per API key: the same key with the same body is "
    "answered with the stored answer and `Idempotent-Replayed: true`, with another body it is a 409."
)

_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": (
            f"The message's unique id (at most {MAX_ID_LENGTH} characters), remembered 7 days: a repeat with the "
            "same body is answered from its receipt (`webhook-replayed: true`), with another body it is a 409."
        ),
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": (
            f"Unix time in seconds, ASCII digits without leading zeros, within {TOLERANCE_S} s of the server's "
            "clock; signed as sent."
        ),
        "schema": {"type": "string", "pattern": "^(0|[1-9][0-9]{0,14})$"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": (
            "`v1,<base64 HMAC-SHA256 of {webhook-id}.{webhook-timestamp}.{raw body}>`; several, space-separated, "
            "while rotating secrets."
        ),
        "schema": {"type": "string"},
    },
]


def _replay_header(name: str, description: str) -> dict[str, Any]:
    return {name: {"description": description, "schema": {"type": "string", "enum": ["true"]}}}


def webhook_openapi() -> dict[str, Any]:
    replayed = _replay_header("webhook-replayed", "Present when this is the stored answer to an earlier delivery.")
    return {
        **json_body(WebhookEnvelope, "The raw bytes are what is signed: send them uncompressed."),
        "parameters": _HEADERS,
        "security": [{WEBHOOK: []}],
        "responses": {"202": {"headers": replayed}},
    }


def shipment_openapi(replay: str) -> dict[str, Any]:
    replayed = _replay_header(replay, "Present when this is the stored answer to an earlier `Idempotency-Key`.")
    return {**json_body(ShipmentIn), "responses": {"200": {"headers": replayed}, "201": {"headers": replayed}}}
