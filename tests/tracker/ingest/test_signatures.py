"""Standard Webhooks verification edge cases, on raw bytes."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from tracker.signatures import MalformedHeader, SignatureError, parse_secrets, sign, verify

NOW = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
T = int(NOW.timestamp())
OLD, NEW = b"old-secret-0123456789", b"new-secret-9876543210"
BODY = b'{"type":"shipment.upsert","data":{"shipments":[]}}'


def headers(key: bytes = OLD, *, msg_id: str = "msg_1", t: int = T, body: bytes = BODY) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(t), "webhook-signature": sign(key, msg_id, t, body)}


def test_valid_signature_returns_the_id() -> None:
    assert verify([OLD], headers(), BODY, NOW) == "msg_1"


def test_tampered_body_is_refused() -> None:
    with pytest.raises(SignatureError, match="no valid signature"):
        verify([OLD], headers(), BODY.replace(b"[]", b"[{}]"), NOW)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="no valid signature"):
        verify([NEW], headers(OLD), BODY, NOW)


def test_rotation_accepts_any_configured_secret_and_any_sent_signature() -> None:
    assert verify([NEW, OLD], headers(OLD), BODY, NOW) == "msg_1"
    both = headers(NEW)
    both["webhook-signature"] = f"v1,bm90LXRoaXM= {both['webhook-signature']}"
    assert verify([NEW], both, BODY, NOW) == "msg_1"


def test_other_signature_versions_are_ignored() -> None:
    h = headers()
    h["webhook-signature"] = h["webhook-signature"].replace("v1,", "v1a,")
    with pytest.raises(SignatureError):
        verify([OLD], h, BODY, NOW)


@pytest.mark.parametrize(("offset", "word"), [(-301, "old"), (301, "in the future")])
def test_timestamps_more_than_300_s_away_are_refused(offset: int, word: str) -> None:
    with pytest.raises(SignatureError, match=f"301 s {word}; expected within 300 s"):
        verify([OLD], headers(t=T + offset), BODY, NOW)
    assert verify([OLD], headers(t=T + offset // abs(offset) * 300), BODY, NOW) == "msg_1"


def test_the_id_and_timestamp_are_signed_too() -> None:
    h = headers()
    h["webhook-id"] = "msg_2"
    with pytest.raises(SignatureError):
        verify([OLD], h, BODY, NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_named(missing: str) -> None:
    h = headers()
    del h[missing]
    with pytest.raises(SignatureError, match=f"missing header\\(s\\): {missing}"):
        verify([OLD], h, BODY, NOW)


def test_garbled_timestamp() -> None:
    h = headers()
    h["webhook-timestamp"] = "yesterday"
    with pytest.raises(SignatureError, match="'yesterday' is not a Unix time"):
        verify([OLD], h, BODY, NOW)


def test_secrets_parsing() -> None:
    key = base64.b64encode(OLD).decode()
    assert parse_secrets(f"whsec_{key}, whsec_{key}") == [OLD, OLD]
    with pytest.raises(ValueError, match="entry #2 does not start with 'whsec_'"):
        parse_secrets(f"whsec_{key},{key}")
    with pytest.raises(ValueError, match="entry #1 is not valid base64"):
        parse_secrets("whsec_@@@")


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        ("9" * 5000, "'99999999999999999999…'"),  # int() of it raises (more than 4300 digits)
        ("²", "'²'"),  # str.isdigit() says yes, int() says no
        ("١٧٩٠٠٠٠٠٠٠", "'١٧٩٠٠٠٠٠٠٠'"),  # Arabic-Indic digits
        ("-5", "'-5'"),
        (" 1", "' 1'"),
    ],
)
def test_a_malformed_timestamp_is_a_named_header_error_never_a_crash(stamp: str, shown: str) -> None:
    h = headers()
    h["webhook-timestamp"] = stamp
    with pytest.raises(MalformedHeader, match="expected a Unix time in seconds") as info:
        verify([OLD], h, BODY, NOW)
    assert info.value.header == "webhook-timestamp" and shown in str(info.value) and len(str(info.value)) < 200


def test_a_timestamp_with_leading_zeros_is_refused_even_when_its_integer_was_signed() -> None:
    h = headers()  # signed over str(T)
    h["webhook-timestamp"] = f"0{T}"
    with pytest.raises(MalformedHeader, match="without leading zeros"):
        verify([OLD], h, BODY, NOW)


def test_the_timestamp_is_verified_as_sent() -> None:
    mac = hmac.new(OLD, f"msg_1.{T}.".encode() + BODY, hashlib.sha256).digest()  # the signed text, by hand
    h = headers() | {"webhook-signature": "v1," + base64.b64encode(mac).decode()}
    assert verify([OLD], h, BODY, NOW) == "msg_1"
    assert sign(OLD, "msg_1", str(T), BODY) == sign(OLD, "msg_1", T, BODY)


def test_an_overlong_id_is_a_named_header_error() -> None:
    with pytest.raises(MalformedHeader, match="256 characters long; expected at most 255") as info:
        verify([OLD], headers(msg_id="m" * 256), BODY, NOW)
    assert info.value.header == "webhook-id"
