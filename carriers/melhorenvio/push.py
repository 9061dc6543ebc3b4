"""Pure: Melhor Envio webhook signatures. ``X-ME-Signature`` is the HMAC-SHA256 of the raw request body keyed
with the app secret (the account's ``app_secret``).

Melhor Envio's documentation gives the digest base64-encoded (that is what :func:`sign` writes); public
integrations also compare it as hexadecimal, so both encodings are accepted (an optional ``sha256=`` prefix
too), compared in constant time.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping

HEADER = "x-me-signature"
SECRET_FIELD = "app_secret"


def digest(body: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def sign(body: bytes, secret: str) -> str:
    """The ``X-ME-Signature`` value Melhor Envio sends for ``body``: base64 of the HMAC-SHA256."""
    return base64.b64encode(digest(body, secret)).decode()


def verify_push(headers: Mapping[str, str], body: bytes, credentials: Mapping[str, str]) -> bool:
    """Whether ``body`` was signed with this account's app secret; False without a secret or a signature."""
    secret = credentials.get(SECRET_FIELD)
    given = (headers.get(HEADER) or "").strip()
    if not secret or not given:
        return False
    if given[:7].lower() == "sha256=":
        given = given[7:].strip()
    mac = digest(body, secret)
    value = given.encode()
    as_base64 = hmac.compare_digest(value, base64.b64encode(mac))
    as_hex = hmac.compare_digest(value.lower(), mac.hex().encode())
    return as_base64 | as_hex
