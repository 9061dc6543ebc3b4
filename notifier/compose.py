"""From an outbox row to the message itself: the facts, the store's templates, the check-in and opt-out
links, the address, a customer e-mail's headers (Reply-To the store, one-click List-Unsubscribe) and its
Date (the send time on the injected clock); one ops e-mail from a round of alerts; and the opt-out hashes the
dispatcher checks."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import formataddr, parseaddr
from typing import Any

from sqlalchemy import Row

from notifier.channels.base import Outgoing, PermanentFailure
from notifier.channels.wa_link import wa_me_link
from notifier.checkin import checkin_links
from notifier.context import message_context
from notifier.dispatcher import Compose, Digest, OptOuts
from notifier.optout import address_hash
from notifier.render import render, render_digest
from notifier.vocabulary import Channel, Trigger
from tracker.config import Settings


def make_compose(settings: Settings) -> Compose:
    async def compose(n: Row[Any], s: Row[Any], now: datetime) -> Outgoing | str:
        channel, trigger = Channel(n.channel), Trigger(n.trigger)
        to = address(settings, n, s)
        if to is None:
            raise PermanentFailure("no_address", f"the shipment has no address for {channel.value}")
        links = checkin_links(s.id, settings=settings, now=now)
        facts = dict(n.facts) | {"incident_id": n.incident_id}
        context = message_context(dict(s._mapping), facts, settings=settings, links=links)
        rendered = render(trigger, channel, context, templates_dir=settings.notify_templates_dir)
        if channel is Channel.WA_LINK:
            return wa_me_link(to, rendered.text)
        params: tuple[str, ...] = ()
        if channel is Channel.WHATSAPP:  # approved templates zelo_<trigger>: name, order, tracking link
            params = tuple(str(context[k]) for k in ("customer_first_name", "order_number", "tracking_link"))
        return Outgoing(
            n.id,
            n.dedupe_key,
            to,
            rendered.subject,
            rendered.text,
            rendered.html,
            template=f"zelo_{trigger.value}" if channel is Channel.WHATSAPP else None,
            template_params=params,
            headers=customer_headers(settings, links) if channel is Channel.EMAIL else (),
            date=now,
        )

    return compose


def customer_headers(settings: Settings, links: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Reply-To the store's address (when set), and the one-click opt-out (RFC 8058) mail clients show as
    "cancelar inscrição": a POST to the opt-out link stops the messages, no page to fill in."""
    headers: list[tuple[str, str]] = []
    if settings.reply_to:
        headers.append(("Reply-To", formataddr(parseaddr(settings.reply_to), charset="utf-8")))
    headers += [("List-Unsubscribe", f"<{links['optout']}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    return tuple(headers)


def make_digest(settings: Settings) -> Digest:
    def digest(messages: Sequence[Outgoing]) -> Outgoing:
        first = messages[0]
        if len(messages) == 1:
            return first
        alerts = [{"subject": m.subject, "text": m.text} for m in messages]
        rendered = render_digest(
            {"store_name": settings.store_name, "alerts": alerts}, templates_dir=settings.notify_templates_dir
        )
        key = f"digest:{first.idempotency_key}:{len(messages)}"
        return Outgoing(first.notification_id, key, first.to, rendered.subject, rendered.text, date=first.date)

    return digest


def make_optout_hashes(settings: Settings) -> OptOuts:
    secret = settings.secret_key.get_secret_value()

    def hashes(n: Row[Any], s: Row[Any]) -> Sequence[str]:
        to = address(settings, n, s)
        return [address_hash(to, secret)] if to else []

    return hashes


def address(settings: Settings, notification: Row[Any], shipment: Row[Any]) -> str | None:
    """Where a message goes: the customer's e-mail or phone, or the ops address."""
    channel = Channel(notification.channel)
    if channel is Channel.EMAIL:
        return str(shipment.customer_email) if shipment.customer_email else None
    if channel in (Channel.WHATSAPP, Channel.WA_LINK):
        return str(shipment.customer_phone) if shipment.customer_phone else None
    if channel is Channel.OPS_EMAIL:
        return settings.ops_email
    return settings.ops_webhook_url
