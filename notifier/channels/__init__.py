"""Delivery channels behind one protocol (``base.Port``): e-mail over SMTP, WhatsApp Cloud API
templates, and the ops webhook; plus ``wa.me`` links for messages ops send by hand."""

from notifier.channels.base import ChannelError, Outgoing, PermanentFailure, Port, Sent, TemporaryFailure
from notifier.channels.email import EmailChannel
from notifier.channels.ops_webhook import OpsWebhookChannel
from notifier.channels.wa_link import wa_me_link
from notifier.channels.whatsapp import WhatsAppChannel

__all__ = [
    "ChannelError",
    "EmailChannel",
    "OpsWebhookChannel",
    "Outgoing",
    "PermanentFailure",
    "Port",
    "Sent",
    "TemporaryFailure",
    "WhatsAppChannel",
    "wa_me_link",
]
