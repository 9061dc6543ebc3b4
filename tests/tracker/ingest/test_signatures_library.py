"""Ours against the official ``standardwebhooks`` package, both ways: what an ERP signs with the library verifies
here, and what we sign (the ops webhook, our test ERP) verifies with the library."""

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from tracker.signatures import SignatureError, parse_secrets, sign, verify

WHSEC = "whsec_" + base64.b64encode(b"erp-shared-secret-0123456789abcdef").decode()
OLD = "whsec_" + base64.b64encode(b"the-secret-before-rotation-0123").decode()
BODIES = [
    b'{"type":"shipment.upsert","data":{"shipments":[]}}',
    json.dumps({"city": "São Paulo", "note": "entregue à portaria"}, ensure_ascii=False).encode(),
    b"",
]


@pytest.mark.parametrize("body", BODIES)
def test_a_body_signed_by_the_library_verifies_here(body: bytes) -> None:
    now = datetime.now(UTC)
    signature = Webhook(WHSEC).sign("msg_lib", now, body.decode())
    headers = {"webhook-id": "msg_lib", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    assert verify(parse_secrets(WHSEC), headers, body, now) == "msg_lib"
    assert verify(parse_secrets(f"{WHSEC},{OLD}"), headers, body, now) == "msg_lib"  # while rotating
    with pytest.raises(SignatureError):
        verify(parse_secrets(OLD), headers, body, now)
    with pytest.raises(SignatureError):
        verify(parse_secrets(WHSEC), headers, body + b" ", now)


@pytest.mark.parametrize("body", BODIES)
def test_a_body_signed_here_verifies_with_the_library(body: bytes) -> None:
    now = int(datetime.now(UTC).timestamp())
    [key] = parse_secrets(WHSEC)
    headers = {
        "webhook-id": "msg_ours",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(key, "msg_ours", now, body),
    }
    Webhook(WHSEC).verify(body, headers, json_parse=False)  # raises WebhookVerificationError if not
    two = headers | {
        "webhook-signature": f"{sign(parse_secrets(OLD)[0], 'msg_ours', now, body)} {headers['webhook-signature']}"
    }
    Webhook(WHSEC).verify(body, two, json_parse=False)  # several signatures, one valid: as the library reads them
