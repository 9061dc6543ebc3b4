"""OpsWebhookChannel: Slack-compatible JSON, signed so that the Standard Webhooks verifier accepts it."""

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from standardwebhooks import Webhook

from notifier.channels.base import Outgoing, PermanentFailure, TemporaryFailure
from notifier.channels.ops_webhook import SLACK_SECTION_LIMIT, OpsWebhookChannel, slack_body
from tracker.signatures import parse_secrets, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL = "https://hooks.test/ops"
NOW = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)


def outgoing(**kw: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "notification_id": 9,
        "idempotency_key": "ops:incident:17:raised",
        "to": "",
        "subject": "Incidente #17",
        "text": "Pedido 1234 parado há 5 dias úteis em Cajamar/SP",
        "payload": {"incident_id": 17, "username": "zelo"},
    }
    fields.update(kw)
    return Outgoing(**fields)


@pytest.fixture
async def channel() -> Any:
    async with httpx.AsyncClient() as http:
        yield OpsWebhookChannel(http, url=URL, secret=SECRET, clock=NOW.timestamp)


@respx.mock
async def test_signed_slack_compatible_body(channel: OpsWebhookChannel) -> None:
    route = respx.post(URL).respond(200, text="ok")

    sent = await channel.send(outgoing())

    assert sent.provider_id == "200"
    request = route.calls.last.request
    headers = {k: v for k, v in request.headers.items()}
    assert verify(parse_secrets(SECRET), headers, request.content, NOW) == "ops:incident:17:raised"
    body = json.loads(request.content)
    assert body["text"] == "Pedido 1234 parado há 5 dias úteis em Cajamar/SP"
    assert {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}} in body["blocks"]
    assert body["incident_id"] == 17 and body["username"] == "zelo"
    assert request.headers["content-type"] == "application/json"


@respx.mock
async def test_the_official_standardwebhooks_package_verifies_an_alert() -> None:
    route = respx.post(URL).respond(200)
    async with httpx.AsyncClient() as http:
        await OpsWebhookChannel(http, url=URL, secret=SECRET).send(outgoing(text="Ação: 5 dias <úteis>"))
    request = route.calls.last.request
    Webhook(SECRET).verify(request.content, dict(request.headers), json_parse=False)  # it reads the clock itself


@respx.mock
async def test_a_resend_carries_the_same_webhook_id(channel: OpsWebhookChannel) -> None:
    route = respx.post(URL).respond(204)

    await channel.send(outgoing())
    await channel.send(outgoing())

    assert {c.request.headers["webhook-id"] for c in route.calls} == {"ops:incident:17:raised"}
    assert OpsWebhookChannel.supports_idempotency is True


@respx.mock
async def test_tampered_body_does_not_verify(channel: OpsWebhookChannel) -> None:
    route = respx.post(URL).respond(200)
    await channel.send(outgoing())
    request = route.calls.last.request

    with pytest.raises(Exception, match="no valid signature"):
        verify(parse_secrets(SECRET), dict(request.headers), request.content + b" ", NOW)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(429, headers={"Retry-After": "30"}), (TemporaryFailure, "webhook_unavailable", 30.0)),
        (httpx.Response(502), (TemporaryFailure, "webhook_unavailable", None)),
        (httpx.ConnectError("refused"), (TemporaryFailure, "webhook_unavailable", None)),
        (httpx.ReadTimeout("slow"), (TemporaryFailure, "webhook_unavailable", None)),
        (httpx.Response(404), (PermanentFailure, "webhook_rejected", None)),
        (httpx.Response(410), (PermanentFailure, "webhook_rejected", None)),
    ],
)
@respx.mock
async def test_failures(channel: OpsWebhookChannel, response: Any, expected: tuple[type, str, float | None]) -> None:
    kind, code, retry_after = expected
    if isinstance(response, Exception):
        respx.post(URL).mock(side_effect=response)
    else:
        respx.post(URL).mock(return_value=response)

    with pytest.raises(kind) as caught:
        await channel.send(outgoing())

    assert caught.value.code == code
    assert getattr(caught.value, "retry_after", None) == retry_after


def test_untrusted_text_reaches_slack_as_text_never_as_markup() -> None:
    said = "<!channel> <https://evil.example|Clique aqui> & <@U123>"
    body = slack_body(outgoing(subject=f"Pedido <!here> {said}", text=f"Comentário: {said}"))
    escaped = "&lt;!channel&gt; &lt;https://evil.example|Clique aqui&gt; &amp; &lt;@U123&gt;"
    assert body["text"] == f"Comentário: {escaped}"
    assert body["blocks"][1]["text"]["text"] == f"Comentário: {escaped}"
    assert body["blocks"][0]["text"]["text"] == f"Pedido &lt;!here&gt; {escaped}"
    assert "<" not in json.dumps(body) and ">" not in json.dumps(body)


def test_a_long_text_is_cut_within_slacks_limits_and_never_inside_an_entity() -> None:
    body = slack_body(outgoing(subject="<" * 200, text="x" * 2997 + "<<<<"))
    section, header = body["blocks"][1]["text"]["text"], body["blocks"][0]["text"]["text"]
    assert len(section) <= SLACK_SECTION_LIMIT and section.endswith("x…")
    assert len(header) <= 150 and header.endswith("&lt;…")
