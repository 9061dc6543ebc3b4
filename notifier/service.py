"""Wiring: the channels the settings configure, and where each message goes."""

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Row

from notifier.channels import EmailChannel, OpsWebhookChannel, WhatsAppChannel
from notifier.channels.base import Channel as Port
from notifier.channels.eml_folder import EmlFolderChannel
from notifier.vocabulary import Channel
from tracker.config import Settings


def open_channels(
    settings: Settings, http: httpx.AsyncClient, *, eml_folder: Path | None = None
) -> dict[Channel, Port]:
    """The channels configured: e-mail (SMTP, or ``.eml`` files in a folder), the WhatsApp Cloud API, the
    ops webhook; ops e-mail shares the e-mail channel. wa.me links need no channel: they are queued."""
    ports: dict[Channel, Port] = {}
    if eml_folder is not None:
        ports[Channel.EMAIL] = EmlFolderChannel(eml_folder, settings.email_from)
    elif settings.smtp_url:
        ports[Channel.EMAIL] = EmailChannel(settings.smtp_url, settings.email_from)
    if settings.ops_email and Channel.EMAIL in ports:
        ports[Channel.OPS_EMAIL] = ports[Channel.EMAIL]
    if settings.whatsapp_token and settings.whatsapp_phone_id:
        token = settings.whatsapp_token.get_secret_value()
        ports[Channel.WHATSAPP] = WhatsAppChannel(http, phone_number_id=settings.whatsapp_phone_id, token=token)
    if settings.ops_webhook_url and settings.ops_webhook_secret:
        secret = settings.ops_webhook_secret.get_secret_value()
        ports[Channel.OPS_WEBHOOK] = OpsWebhookChannel(http, url=settings.ops_webhook_url, secret=secret)
    return ports


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
