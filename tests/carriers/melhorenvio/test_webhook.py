"""Melhor Envio webhook bodies (``parse_webhook``) and their signatures (``verify_push``)."""

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from carriers.base import ContractError, Status
from carriers.melhorenvio import SPEC, sign
from carriers.melhorenvio.codes import lookup
from carriers.melhorenvio.parse import parse, parse_webhook

ID = "a0234c5e-0a48-4e0d-abca-3b862b668451"
SECRET = "app-secret-123"
EVENTS = (
    "order.created",
    "order.pending",
    "order.released",
    "order.generated",
    "order.received",
    "order.posted",
    "order.delivered",
    "order.cancelled",
    "order.undelivered",
    "order.paused",
    "order.suspended",
)


def body(event: str, **data: Any) -> dict[str, Any]:
    fields = {
        "id": ID,
        "protocol": "ORD-202510120479645",
        "tracking": "ME2521FLIH0BR",
        "tracking_url": "https://www.melhorrastreio.com.br/rastreio/ME2521FLIH0BR",
        "created_at": "2025-10-17 20:57:35",
        "paid_at": "2025-10-17 21:00:00",
        "updated_at": "2025-10-19 08:00:00",
    }
    return {"event": event, "data": fields | data}


@pytest.mark.parametrize("event", EVENTS)
def test_every_event_gives_the_status_it_names(event: str) -> None:
    (result,) = SPEC.parse_webhook(body(event))
    word = event.removeprefix("order.")
    info = lookup(word)
    assert info is not None
    assert result.tracking_code == ID.upper()
    assert result.events[-1].code == f"ME-{word}" or word in ("created", "pending", "released")
    assert result.status is info.status
    assert result.problems == ()


def test_data_status_is_the_orders_status_and_dates_give_every_milestone() -> None:
    payload = body(
        "order.delivered", status="delivered", posted_at="2025-10-18 09:15:00", delivered_at="2025-10-19T14:00:00-03:00"
    )
    (result,) = parse_webhook(payload)
    assert [(e.code, e.status) for e in result.events] == [
        ("ME-created", Status.PENDING),
        ("ME-released", Status.PENDING),
        ("ME-posted", Status.POSTED),
        ("ME-delivered", Status.DELIVERED),
    ]


def test_a_push_and_a_poll_of_the_same_order_give_the_same_events() -> None:
    data = body("order.undelivered", status="undelivered", posted_at="2025-10-18 09:15:00")["data"]
    (pushed,) = parse_webhook({"event": "order.undelivered", "data": data})
    (polled,) = parse({ID: data})
    assert [(e.occurred_at, e.code, e.status) for e in pushed.events] == [
        (e.occurred_at, e.code, e.status) for e in polled.events
    ]
    assert pushed.status is Status.RETURNING


def test_an_unknown_order_event_is_kept_safely_and_said() -> None:
    (result,) = parse_webhook(body("order.teleported", posted_at="2025-10-18 09:15:00"))
    assert (result.events[-1].code, result.events[-1].known_code) == ("ME-teleported", False)
    assert result.status is Status.POSTED
    assert result.problems == ("unknown Melhor Envio status 'teleported'; kept as posted",)


def test_an_event_that_is_not_about_an_order_gives_nothing() -> None:
    assert parse_webhook({"event": "cart.created", "data": {"id": ID}}) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            [],
            "expected a Melhor Envio webhook: a JSON object with an 'event' string (e.g. 'order.posted') and a "
            "'data' object, got list",
        ),
        ({"data": {"id": ID}}, "got keys ['data']"),
        ({"event": 5, "data": {}}, "got keys ['data', 'event']"),
        ({"event": "order.posted"}, "webhook 'order.posted': 'data' is NoneType, expected the order object"),
        ({"event": "order.posted", "data": [ID]}, "'data' is list, expected the order object"),
        ({"event": "order.posted", "data": {"status": "posted"}}, "data.id is None, expected the Melhor Envio order"),
        ({"event": "order.posted", "data": {"id": " "}}, "data.id is ' ', expected"),
    ],
)
def test_malformed_bodies_raise_a_contract_error_naming_what_was_expected(payload: Any, message: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_webhook(payload)
    assert message in str(caught.value)


# --- signatures -----------------------------------------------------------------------------------------------

RAW = json.dumps(body("order.posted", posted_at="2025-10-18 09:15:00"), ensure_ascii=False).encode()
MAC = hmac.new(SECRET.encode(), RAW, hashlib.sha256).digest()
CREDENTIALS = {"token": "t", "contact_email": "ops@loja.test", "app_secret": SECRET}


def test_sign_writes_base64_of_the_hmac() -> None:
    assert sign(RAW, SECRET) == base64.b64encode(MAC).decode()


@pytest.mark.parametrize(
    "signature",
    [
        base64.b64encode(MAC).decode(),
        MAC.hex(),
        MAC.hex().upper(),
        f"sha256={MAC.hex()}",
        f" {base64.b64encode(MAC).decode()} ",
    ],
    ids=["base64", "hex", "HEX", "sha256=hex", "padded"],
)
def test_a_good_signature_in_either_encoding_is_accepted(signature: str) -> None:
    assert SPEC.verify_push({"x-me-signature": signature}, RAW, CREDENTIALS) is True


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-me-signature": ""},
        {"x-me-signature": "not-a-signature"},
        {"x-me-signature": base64.b64encode(b"x" * 32).decode()},
        {"x-me-signature": hmac.new(b"other", RAW, hashlib.sha256).hexdigest()},
        {"x-me-signature": "assinatura inválida ç"},
        {"x-signature": MAC.hex()},
    ],
    ids=["missing", "empty", "garbage", "wrong-b64", "other-secret", "non-ascii", "other-header"],
)
def test_a_bad_or_missing_signature_is_refused(headers: dict[str, str]) -> None:
    assert SPEC.verify_push(headers, RAW, CREDENTIALS) is False


def test_a_changed_body_is_refused() -> None:
    assert SPEC.verify_push({"x-me-signature": sign(RAW, SECRET)}, RAW + b" ", CREDENTIALS) is False


@pytest.mark.parametrize("credentials", [{"token": "t", "contact_email": "e"}, {"app_secret": ""}])
def test_an_account_without_app_secret_takes_no_push(credentials: dict[str, str]) -> None:
    assert SPEC.verify_push({"x-me-signature": sign(RAW, SECRET)}, RAW, credentials) is False


def test_the_spec_declares_the_push_fields_as_secret() -> None:
    assert SPEC.pushes and SPEC.push_fields == ("app_secret",)
    assert {"token", "client_secret", "refresh_token", "app_secret"} <= set(SPEC.secret_fields)
    assert SPEC.credential_fields == ("token", "contact_email")
