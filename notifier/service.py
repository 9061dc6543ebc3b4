"""Wiring: the channels the settings configure, and the process's outbox and dispatcher."""

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.alerts import queue_alerts
from notifier.channels import EmailChannel, OpsWebhookChannel, WhatsAppChannel
from notifier.channels.base import Port
from notifier.channels.eml_folder import EmlFolderChannel
from notifier.compose import make_compose, make_digest, make_optout_hashes
from notifier.config import Policy, load_policy
from notifier.dispatcher import Dispatcher
from notifier.outbox import Outbox
from notifier.ratelimit import RateLimit
from notifier.vocabulary import Channel
from tracker.config import Settings
from tracker.limits import SharedRate
from tracker.runtime import Runtime
from tracker.signals import Alert, AlertSink


def outbox_of(runtime: Runtime) -> Outbox:
    """The process's outbox: the detector's listener that queues the notifications."""
    return runtime.service(_outbox)


def alerts_of(runtime: Runtime) -> AlertSink:
    """The sink other features tell ops through (the runtime's ``alert``): alerts queued in the outbox."""
    outbox = outbox_of(runtime)

    async def alert(session: AsyncSession, alerts: Sequence[Alert], now: datetime) -> int:
        return await queue_alerts(session, outbox, alerts, now)

    return alert


def dispatcher_of(runtime: Runtime) -> Dispatcher:
    """The process's dispatcher, kept so its SMTP connection outlives one run."""
    return runtime.service(_dispatcher)


def _outbox(runtime: Runtime) -> Outbox:
    return Outbox(runtime.settings)


def _dispatcher(runtime: Runtime) -> Dispatcher:
    s = runtime.settings
    ports = open_channels(s, runtime.http)
    compose, hashes = make_compose(s), make_optout_hashes(s)
    policy = load_policy()
    limits = {} if runtime.redis is None else shared_limits(runtime.redis, policy)
    return Dispatcher(
        runtime.sessions, runtime.clock, ports, compose, hashes, policy, digest=make_digest(s), limits=limits
    )


def shared_limits(redis: Any, policy: Policy) -> dict[Channel, RateLimit]:
    """Scaled mode: each channel's send rate, one Redis bucket for every worker (a burst of a second's sends)."""
    limits = {}
    for channel, per_second in policy.rate_limits.items():
        bucket = SharedRate(redis, f"zelo:rate:channel:{channel}", per_second, burst=max(per_second, 1.0))
        limits[channel] = RateLimit(per_second, shared=bucket)
    return limits


def open_channels(settings: Settings, http: httpx.AsyncClient) -> dict[Channel, Port]:
    """The channels configured: e-mail (SMTP, or ``.eml`` files in a folder), the WhatsApp Cloud API, the
    ops webhook; ops e-mail shares the e-mail channel. wa.me links need no channel: they are queued."""
    ports: dict[Channel, Port] = {}
    if settings.email_folder is not None:
        ports[Channel.EMAIL] = EmlFolderChannel(Path(settings.email_folder), settings.email_from)
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
