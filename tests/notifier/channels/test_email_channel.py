"""EmailChannel against a real SMTP server on loopback."""

import asyncio

import pytest
from structlog.testing import capture_logs

from notifier.channels.base import Outgoing, PermanentFailure, TemporaryFailure
from notifier.channels.email import EmailChannel, message_id

SUBJECT = "Seu pedido saiu para entrega — chegará até às 18h (ação não necessária)"


def outgoing(n: int = 1, to: str = "joana.silva@example.com", **kw: object) -> Outgoing:
    fields: dict[str, object] = {
        "notification_id": n,
        "idempotency_key": f"42:out_for_delivery:{n}",
        "to": to,
        "subject": SUBJECT,
        "text": "Olá, Joana! Seu pedido está a caminho.",
        "html": "<p>Olá, <b>Joana</b>! Seu pedido está a caminho.</p>",
    }
    fields.update(kw)
    return Outgoing(**fields)  # type: ignore[arg-type]


async def test_multipart_message_with_stable_message_id_and_pt_br_subject(smtp_server) -> None:
    channel = EmailChannel(smtp_server.url, "Loja Zelo <avisos@zelo.example>")
    try:
        sent = await channel.send(outgoing())
    finally:
        await channel.aclose()

    assert sent.provider_id == "Q1"  # the server's queue id
    (received,) = smtp_server.handler.received
    assert received.mail_from == "avisos@zelo.example"
    assert received.rcpt_tos == ["joana.silva@example.com"]
    raw_subject = next(line for line in received.raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject  # RFC 2047 encoded-words on the wire
    mail = received.message
    assert mail["From"] == "Loja Zelo <avisos@zelo.example>"
    assert mail["Subject"] == SUBJECT
    assert mail["Message-ID"] == message_id("42:out_for_delivery:1") == "<42%3Aout_for_delivery%3A1@zelo>"
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and "Seu pedido está a caminho." in plain.get_content()
    assert html is not None and "<b>Joana</b>" in html.get_content()


async def test_one_connection_carries_twenty_messages_even_when_sent_concurrently(smtp_server) -> None:
    channel = EmailChannel(smtp_server.url, "avisos@zelo.example")
    try:
        for n in range(10):
            await channel.send(outgoing(n))
        await asyncio.gather(*(channel.send(outgoing(n)) for n in range(10, 20)))
    finally:
        await channel.aclose()

    assert len(smtp_server.handler.received) == 20
    assert smtp_server.connections == 1
    assert smtp_server.handler.ehlos == 1


async def test_a_pool_of_two_uses_at_most_two_connections(smtp_server) -> None:
    channel = EmailChannel(smtp_server.url, "avisos@zelo.example", pool_size=2)
    try:
        await asyncio.gather(*(channel.send(outgoing(n)) for n in range(12)))
    finally:
        await channel.aclose()

    assert len(smtp_server.handler.received) == 12
    assert 1 <= smtp_server.connections <= 2


async def test_server_down_is_temporary_then_the_same_channel_recovers(smtp_down) -> None:
    channel = EmailChannel(smtp_down.url, "avisos@zelo.example", timeout=2)
    try:
        with pytest.raises(TemporaryFailure) as caught:
            await channel.send(outgoing())
        assert caught.value.code == "smtp_unavailable"

        smtp_down.start()
        sent = await channel.send(outgoing())
    finally:
        await channel.aclose()

    assert sent.provider_id == "Q1"
    assert len(smtp_down.handler.received) == 1


async def test_a_connection_the_server_dropped_is_reopened_once(smtp_server) -> None:
    channel = EmailChannel(smtp_server.url, "avisos@zelo.example", timeout=2)
    try:
        await channel.send(outgoing(1))
        smtp_server.stop()  # drops the open session; the client has not noticed yet
        smtp_server.start()
        with capture_logs() as logs:
            await channel.send(outgoing(2))
    finally:
        await channel.aclose()

    assert [e["event"] for e in logs] == ["smtp_reconnect", "email_sent"]
    assert len(smtp_server.handler.received) == 2
    assert smtp_server.connections == 2


async def test_refused_recipient_is_permanent_and_the_connection_stays_usable(smtp_server) -> None:
    channel = EmailChannel(smtp_server.url, "avisos@zelo.example")
    try:
        with capture_logs() as logs, pytest.raises(PermanentFailure) as caught:
            await channel.send(outgoing(to="bounce.joana@example.com"))
        await channel.send(outgoing(2))
    finally:
        await channel.aclose()

    assert caught.value.code == "smtp_rejected"
    assert "550" in str(caught.value)
    assert "bounce.joana@" not in str(caught.value)  # the address never stays in clear
    assert "bounce.joana@" not in repr(logs) and "b***@example.com" in repr(logs)
    assert smtp_server.connections == 1


async def test_greylisted_recipient_is_temporary(smtp_server) -> None:
    channel = EmailChannel(smtp_server.url, "avisos@zelo.example")
    try:
        with pytest.raises(TemporaryFailure) as caught:
            await channel.send(outgoing(to="later@example.com"))
    finally:
        await channel.aclose()

    assert caught.value.code == "smtp_temporary"
    assert caught.value.retry_after is None


@pytest.mark.parametrize("to", ["<>", "joana@example.com\r\nBcc: spy@example.com"])
async def test_malformed_addresses_are_permanent_and_never_reach_the_server(smtp_server, to: str) -> None:
    channel = EmailChannel(smtp_server.url, "avisos@zelo.example")
    try:
        with pytest.raises(PermanentFailure) as caught:
            await channel.send(outgoing(to=to))
    finally:
        await channel.aclose()

    assert caught.value.code == "smtp_rejected"
    assert smtp_server.handler.received == []


def test_message_id_is_stable_and_valid_for_any_key() -> None:
    assert message_id("k") == message_id("k") == "<k@zelo>"
    assert message_id("a b<c>@d") == "<a%20b%3Cc%3E%40d@zelo>"
    long = message_id("x" * 200)
    assert long == message_id("x" * 200) and len(long) < 60 and long.endswith("@zelo>")


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp+ssl://mail.example"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP URL"):
        EmailChannel(url, "avisos@zelo.example")


def test_url_schemes_pick_tls_and_default_ports() -> None:
    assert EmailChannel("smtps://u:p%40ss@mail.example", "a@b.example").server == "mail.example:465"
    assert EmailChannel("smtp+starttls://mail.example", "a@b.example").server == "mail.example:587"
    assert EmailChannel("smtp://mail.example", "a@b.example").server == "mail.example:25"


async def test_the_message_leaves_only_once_it_is_recorded_as_handed(smtp_server) -> None:
    channel = EmailChannel(smtp_server.url, "avisos@zelo.example")
    seen: list[int] = []

    async def handed() -> None:  # runs while MAIL and RCPT go out: DATA has not started
        await asyncio.sleep(0.05)
        seen.append(len(smtp_server.handler.received))

    async def refused() -> None:
        raise TemporaryFailure("handoff_failed", "the dispatcher could not record it")

    try:
        await channel.send(outgoing(1), handed)
        with pytest.raises(TemporaryFailure, match="could not record"):
            await channel.send(outgoing(2), refused)
        with pytest.raises(PermanentFailure):  # refused at RCPT: the record was made, nothing left
            await channel.send(outgoing(4, to="bounce@example.com"), handed)
        await channel.send(outgoing(5))  # the connection is still good: the envelopes were reset
    finally:
        await channel.aclose()
    assert seen == [0, 1]
    assert [r.message["Message-ID"] for r in smtp_server.handler.received] == [
        message_id("42:out_for_delivery:1"),
        message_id("42:out_for_delivery:5"),
    ]
    assert smtp_server.connections == 1
