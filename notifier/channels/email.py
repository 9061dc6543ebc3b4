"""E-mail over SMTP (aiosmtplib). ``smtp://``, ``smtp+starttls://`` or ``smtps://``, with optional
``user:password@``. Connections are kept open and reused (a small pool, one by default); a connection the
server dropped while idle is reopened once before the send fails. SMTP has no idempotency: the stable
``Message-ID`` only lets the recipient's client thread or hide duplicates. ``handed()`` runs while the
envelope (MAIL, RCPT) is sent, and the message itself (DATA) leaves only once it is done."""

import asyncio
import contextlib
import hashlib
import re
from datetime import UTC
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formatdate
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

import aiosmtplib
import structlog
from aiosmtplib.typing import Default

from notifier.channels.base import Handed, Outgoing, PermanentFailure, Sent, TemporaryFailure, mask_address, unrecorded

log = structlog.get_logger(__name__)

_SCHEMES = {"smtp": (False, False, 25), "smtp+starttls": (False, True, 587), "smtps": (True, False, 465)}
_ATEXT = "!#$&'*+-/=?^_`{|}~."  # RFC 5322 atext besides letters and digits ('%' escapes the rest)
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")
_QUEUE_ID = re.compile(r"queued as (\S+)", re.IGNORECASE)
_UNAVAILABLE = (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected, OSError)


def message_id(idempotency_key: str) -> str:
    """``<key@zelo>``, with the characters a Message-ID cannot hold %-escaped; a hash when very long."""
    left = quote(idempotency_key, safe=_ATEXT).strip(".").replace("..", ".%2E")
    if not left or len(left) > 64:
        left = hashlib.blake2b(idempotency_key.encode(), digest_size=16).hexdigest()
    return f"<{left}@zelo>"


def build_message(message: Outgoing, sender: str) -> Message:
    """Plain text, or text and HTML alternatives; UTF-8, non-ASCII subjects as RFC 2047 encoded-words; the
    message's own headers (Reply-To, List-Unsubscribe) and its Date (the send time on the injected clock).
    Built with the compat32 MIME classes: the modern header registry costs ~2 ms of CPU per message."""
    headers = (("to", message.to), ("subject", message.subject or ""), ("from", sender), *message.headers)
    for name, value in headers:
        if "\r" in value or "\n" in value or (name == "to" and not _ADDRESS.fullmatch(value)):
            raise ValueError(f"{name} {value!r} is not a single valid header value")
    for name, value in message.headers:
        if not (name.isascii() and value.isascii()):
            raise ValueError(f"{name} {value!r} is not an ASCII header")
    text = MIMEText(message.text, "plain", "utf-8")
    mail: Message = text
    if message.html is not None:
        mail = MIMEMultipart("alternative")
        mail.attach(text)
        mail.attach(MIMEText(message.html, "html", "utf-8"))
    mail["From"] = sender
    mail["To"] = message.to
    subject = message.subject or ""
    mail["Subject"] = subject if subject.isascii() else Header(subject, "utf-8", header_name="Subject")  # type: ignore[assignment]
    mail["Date"] = (
        format_datetime(message.date.astimezone(UTC), usegmt=True) if message.date else formatdate(usegmt=True)
    )
    mail["Message-ID"] = message_id(message.idempotency_key)
    for name, value in message.headers:
        mail[name] = value
    return mail


class _Client(aiosmtplib.SMTP):
    """An SMTP connection whose DATA waits for ``handing``, the record that the message leaves (started with
    MAIL, so the two overlap); when the record fails, the envelope is reset and nothing is sent."""

    handing: "asyncio.Future[None] | None" = None

    async def data(
        self,
        message: str | bytes,
        /,
        *,
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109 -- aiosmtplib's signature
    ) -> aiosmtplib.SMTPResponse:
        if self.handing is not None:
            handing, self.handing = self.handing, None
            try:
                await handing
            except Exception:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await self.rset()
                raise
        return await super().data(message, timeout=timeout)


class EmailChannel:
    name = "email"
    supports_idempotency = False

    def __init__(self, smtp_url: str, sender: str, *, timeout: float = 10, pool_size: int = 1) -> None:
        url = urlsplit(smtp_url)
        if url.scheme not in _SCHEMES or not url.hostname:
            raise ValueError(f"SMTP URL must be smtp://, smtp+starttls:// or smtps://host[:port], not {url.scheme}://")
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        use_tls, start_tls, default_port = _SCHEMES[url.scheme]
        self.sender = sender
        self.server = f"{url.hostname}:{url.port or default_port}"
        self._clients = [
            _Client(
                hostname=url.hostname,
                port=url.port or default_port,
                username=unquote(url.username) if url.username else None,
                password=unquote(url.password) if url.password else None,
                use_tls=use_tls,
                start_tls=start_tls,
                timeout=timeout,
            )
            for _ in range(pool_size)
        ]
        self._idle: asyncio.Queue[_Client] = asyncio.Queue()
        for client in self._clients:
            self._idle.put_nowait(client)

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent:
        try:
            mail = build_message(message, self.sender)
        except ValueError as exc:  # a CR/LF in a header: never let it through
            raise PermanentFailure("smtp_rejected", f"message cannot be built: {mask_address(str(exc))}") from exc
        client = await self._idle.get()  # waits while every connection is busy: sends serialize per connection
        try:
            response = await self._send(client, mail, message, handed)
        finally:
            self._idle.put_nowait(client)
        found = _QUEUE_ID.search(response)
        log.debug("email_sent", to=mask_address(message.to), notification_id=message.notification_id)
        return Sent(provider_id=found.group(1) if found else str(mail["Message-ID"]))

    async def _send(self, client: _Client, mail: Message, message: Outgoing, handed: Handed) -> str:
        try:
            return await self._transmit(client, mail, message, handed)
        finally:
            if (pending := client.handing) is not None:  # the envelope failed before DATA: nothing left
                client.handing = None
                with contextlib.suppress(Exception):
                    await pending

    async def _transmit(self, client: _Client, mail: Message, message: Outgoing, handed: Handed) -> str:
        reused = client.is_connected
        for attempt in (1, 2):
            try:
                if not client.is_connected:
                    await self._connect(client)
                if attempt == 1:
                    client.handing = asyncio.ensure_future(handed())
                _refused, response = await client.send_message(mail, sender=self.sender, recipients=[message.to])
                return response
            except aiosmtplib.SMTPServerDisconnected as exc:
                client.close()
                if attempt == 1 and reused:  # the server dropped an idle connection: reopen it once
                    log.info("smtp_reconnect", server=self.server)
                    continue
                raise self._unavailable(exc, message) from exc
            except aiosmtplib.SMTPRecipientsRefused as exc:
                codes = [r.code for r in exc.recipients]
                raise self._by_code(min(codes), "; ".join(r.message for r in exc.recipients), message) from exc
            except aiosmtplib.SMTPResponseException as exc:
                raise self._by_code(exc.code, exc.message, message) from exc
            except ValueError as exc:  # aiosmtplib validates addresses before talking to the server
                raise PermanentFailure("smtp_rejected", f"invalid address: {mask_address(str(exc))}") from exc
            except aiosmtplib.SMTPNotSupported as exc:
                raise PermanentFailure("smtp_rejected", f"SMTP server cannot take this message: {exc}") from exc
            except _UNAVAILABLE as exc:
                client.close()
                raise self._unavailable(exc, message) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    async def _connect(client: _Client) -> None:
        try:
            await client.connect()  # greeting, EHLO, STARTTLS and AUTH as configured
        except BaseException:
            client.close()  # a half-open session (greeting refused, bad credentials) is not reused
            raise

    def _unavailable(self, exc: BaseException, message: Outgoing) -> TemporaryFailure:
        log.warning("smtp_unavailable", server=self.server, to=mask_address(message.to), error=type(exc).__name__)
        return TemporaryFailure("smtp_unavailable", f"SMTP server {self.server} unavailable: {type(exc).__name__}")

    def _by_code(self, code: int, reply: str, message: Outgoing) -> TemporaryFailure | PermanentFailure:
        reply = mask_address(reply)  # servers echo the address back; never keep it in clear
        log.warning("smtp_refused", server=self.server, code=code, to=mask_address(message.to), reply=reply)
        if code in (530, 534, 535):
            return PermanentFailure("smtp_auth", f"SMTP authentication failed ({code} {reply})")
        if 400 <= code < 500:
            return TemporaryFailure("smtp_temporary", f"SMTP server deferred the message ({code} {reply})")
        return PermanentFailure("smtp_rejected", f"SMTP server rejected the message ({code} {reply})")

    async def aclose(self) -> None:
        """QUIT every open connection; a later ``send`` reconnects."""
        for client in self._clients:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
