"""Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers, where a
signature is ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{raw body}">``; several may be sent, space
separated, so secrets can rotate. Secrets are ``whsec_<base64>``."""

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime

TOLERANCE_S = 300
MAX_ID_LENGTH = 255  # the receipt's key column
_UNIX_TIME = re.compile(r"0|[1-9][0-9]{0,14}")  # ASCII digits, no sign, no leading zeros (str.isdigit takes '²')


class SignatureError(Exception):
    """The request cannot be trusted; the message says why (never which secret was tried)."""


class MalformedHeader(SignatureError):
    """A header is not what the standard says it is (a 400: the request is malformed, not merely unsigned)."""

    def __init__(self, header: str, message: str, title: str = "Malformed webhook header") -> None:
        super().__init__(message)
        self.header = header
        self.title = title


def _shown(value: str, limit: int = 20) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def parse_secrets(value: str) -> list[bytes]:
    keys = []
    for i, raw in enumerate(s.strip() for s in value.split(",") if s.strip()):
        if not raw.startswith("whsec_"):
            raise ValueError(f"ZELO_ERP_WEBHOOK_SECRETS entry #{i + 1} does not start with 'whsec_'")
        try:
            keys.append(base64.b64decode(raw.removeprefix("whsec_"), validate=True))
        except binascii.Error:
            raise ValueError(f"ZELO_ERP_WEBHOOK_SECRETS entry #{i + 1} is not valid base64 after 'whsec_'") from None
    return keys


def sign(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``v1,`` signature of ``"{id}.{timestamp}.{body}"``, the timestamp as its header's text."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(keys: list[bytes], headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """Check the headers against the raw ``body``; return the ``webhook-id`` or raise SignatureError."""
    msg_id, stamp, signatures = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    missing = [
        h for h, v in (("webhook-id", msg_id), ("webhook-timestamp", stamp), ("webhook-signature", signatures)) if not v
    ]
    if missing or msg_id is None or stamp is None or signatures is None:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    if len(msg_id) > MAX_ID_LENGTH:
        raise MalformedHeader(
            "webhook-id",
            f"webhook-id is {len(msg_id)} characters long; expected at most {MAX_ID_LENGTH} characters (use a "
            "shorter unique id per message, such as msg_<random>)",
            title="webhook-id too long",
        )
    if not _UNIX_TIME.fullmatch(stamp):
        raise MalformedHeader(
            "webhook-timestamp",
            f"webhook-timestamp {_shown(stamp)} is not a Unix time: expected a Unix time in seconds, in ASCII "
            f"digits without leading zeros, such as {int(now.timestamp())}",
        )
    drift = int(stamp) - int(now.timestamp())
    if abs(drift) > TOLERANCE_S:
        when = "in the future" if drift > 0 else "old"
        raise SignatureError(f"webhook-timestamp is {abs(drift)} s {when}; expected within {TOLERANCE_S} s of now")
    expected = [sign(key, msg_id, stamp, body).encode() for key in keys]  # the header as sent is what was signed
    for candidate in signatures.split():
        if candidate.startswith("v1,") and any(hmac.compare_digest(candidate.encode(), e) for e in expected):
            return msg_id
    raise SignatureError("no valid signature: the body, the timestamp or the secret does not match")
