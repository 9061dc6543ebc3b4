"""WhatsAppChannel against the Cloud API as respx plays it (payloads shaped like Graph API responses)."""

import json
from typing import Any

import httpx
import pytest
import respx

from notifier.channels.base import Outgoing, PermanentFailure, TemporaryFailure
from notifier.channels.whatsapp import WhatsAppChannel

BASE = "https://graph.test/v21.0"
URL = f"{BASE}/1098765/messages"


def outgoing(**kw: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "notification_id": 7,
        "idempotency_key": "42:delayed:once",
        "to": "+55 (11) 98765-4321",
        "subject": None,
        "text": "Detectamos um atraso e já estamos cuidando.",
        "template": "pedido_atrasado",
        "template_params": ("Joana", "BR123456789BR"),
    }
    fields.update(kw)
    return Outgoing(**fields)


def graph_error(code: int, status: int = 400, details: str = "", **headers: str) -> httpx.Response:
    error = {
        "message": f"(#{code}) error {code}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
    return httpx.Response(status, json={"error": error}, headers=headers)


@pytest.fixture
async def channel() -> Any:
    async with httpx.AsyncClient() as http:
        yield WhatsAppChannel(http, phone_number_id="1098765", token="EAAG-test", base_url=BASE)


@respx.mock
async def test_sends_a_template_and_returns_the_wamid(channel: WhatsAppChannel) -> None:
    wamid = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjdGRkQ2QjBCRTg0NjFDQzM5AA=="
    route = respx.post(URL).respond(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": "5511987654321", "wa_id": "5511987654321"}],
            "messages": [{"id": wamid, "message_status": "accepted"}],
        },
    )

    sent = await channel.send(outgoing())

    assert sent.provider_id == wamid
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer EAAG-test"
    assert json.loads(request.content) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511987654321",
        "type": "template",
        "template": {
            "name": "pedido_atrasado",
            "language": {"code": "pt_BR"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Joana"}, {"type": "text", "text": "BR123456789BR"}],
                }
            ],
        },
    }


@respx.mock
async def test_http_429_is_rate_limited_with_retry_after(channel: WhatsAppChannel) -> None:
    respx.post(URL).mock(return_value=graph_error(130429, status=429, **{"Retry-After": "17"}))

    with pytest.raises(TemporaryFailure) as caught:
        await channel.send(outgoing())

    assert caught.value.code == "whatsapp_rate_limited"
    assert caught.value.retry_after == 17


@pytest.mark.parametrize("code", [130429, 131056, 80007])
@respx.mock
async def test_rate_limit_codes_wait_a_minute_by_default(channel: WhatsAppChannel, code: int) -> None:
    respx.post(URL).mock(return_value=graph_error(code))

    with pytest.raises(TemporaryFailure) as caught:
        await channel.send(outgoing())

    assert (caught.value.code, caught.value.retry_after) == ("whatsapp_rate_limited", 60)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (131047, 400, "outside_window"),
        (131026, 400, "whatsapp_recipient"),
        (131051, 400, "whatsapp_rejected"),
        (100, 400, "whatsapp_rejected"),
        (132001, 404, "whatsapp_rejected"),
        (190, 401, "whatsapp_auth"),
        (10, 403, "whatsapp_auth"),
    ],
)
@respx.mock
async def test_permanent_errors(channel: WhatsAppChannel, code: int, status: int, expected: str) -> None:
    details = "Message failed to send because +5511987654321 is not a WhatsApp user"
    respx.post(URL).mock(return_value=graph_error(code, status=status, details=details))

    with pytest.raises(PermanentFailure) as caught:
        await channel.send(outgoing())

    assert caught.value.code == expected
    assert str(code) in str(caught.value)
    assert "987654321" not in str(caught.value)  # the number echoed back is masked


@respx.mock
async def test_server_errors_and_timeouts_are_temporary(channel: WhatsAppChannel) -> None:
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(500, text="<html>oops</html>"),
            graph_error(131016, status=503),
            httpx.ConnectTimeout("timed out"),
            httpx.ConnectError("refused"),
        ]
    )

    for _ in range(4):
        with pytest.raises(TemporaryFailure) as caught:
            await channel.send(outgoing())
        assert caught.value.code == "whatsapp_unavailable"
        assert caught.value.retry_after is None


async def test_a_message_without_template_is_refused_before_any_request(channel: WhatsAppChannel) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(URL).respond(200)
        with pytest.raises(PermanentFailure) as caught:
            await channel.send(outgoing(template=None))

    assert caught.value.code == "whatsapp_rejected"
    assert not mock.calls


def test_the_channel_promises_no_idempotency() -> None:
    assert WhatsAppChannel.supports_idempotency is False
    assert WhatsAppChannel.name == "whatsapp"


def test_template_parameters_are_made_acceptable_to_whatsapp() -> None:
    params = ("Joana\nMaria\tda   Silva", "PED     1" + "9" * 300, "")
    body = WhatsAppChannel(httpx.AsyncClient(), phone_number_id="1", token="t").body(outgoing(template_params=params))
    texts = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert texts[0] == "Joana Maria da Silva"  # no newline, no tab, no run of more than four spaces
    assert texts[1].startswith("PED 1999") and len(texts[1]) == 200 and texts[1].endswith("…")
    assert texts[2] == "-"  # an empty parameter is refused
    for text in texts:
        assert "\n" not in text and "\t" not in text and "     " not in text
