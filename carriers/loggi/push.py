"""Authenticating Loggi's webhooks: Loggi POSTs with ``Authorization: Basic base64(user:password)``, the credentials
the store chose and gave Loggi's sales team (https://docs.api.loggi.com/reference/webhook). They are the account's
``webhook_user`` and ``webhook_password``; an account without both takes no push. The body is not signed."""

import base64
import binascii
import hmac
from collections.abc import Mapping

PUSH_FIELDS = ("webhook_user", "webhook_password")


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` header value Loggi sends for these credentials."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def verify_push(headers: Mapping[str, str], body: bytes, credentials: Mapping[str, str]) -> bool:
    """Whether the request carries this account's webhook credentials (compared in constant time)."""
    user, password = credentials.get("webhook_user"), credentials.get("webhook_password")
    if not user or not password:
        return False
    scheme, _, encoded = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, f"{user}:{password}".encode())
