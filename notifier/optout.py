"""Opt-outs (LGPD): a customer's addresses that asked for no more messages, kept only as keyed hashes.

``address_hash`` is what the dispatcher compares at send time, so the address itself is never stored.
"""

import hashlib
import hmac
import re
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.models import optouts_table
from notifier.vocabulary import Channel
from tracker.db import insert_skipping_duplicates
from tracker.models import shipments_table

log = structlog.get_logger(__name__)
_s = shipments_table.c


def normalize_address(value: str) -> str:
    """An e-mail lower-cased; a phone as E.164 (``+`` and digits: ``+55 (11) 98765-4321`` → ``+5511987654321``)."""
    value = value.strip()
    if "@" in value:
        return value.lower()
    digits = re.sub(r"\D", "", value)
    if not digits:
        raise ValueError("expected an e-mail address or a phone number in E.164 form, such as +5511987654321")
    return f"+{digits}"


def address_hash(value: str, secret: str) -> str:
    """HMAC-SHA256 of the normalized address under ``ZELO_SECRET_KEY``, as 64 hex digits."""
    return hmac.new(secret.encode(), normalize_address(value).encode(), hashlib.sha256).hexdigest()


async def record_optout(session: AsyncSession, shipment_id: int, *, secret: str, now: datetime) -> int:
    """Opt the shipment's e-mail and phone out of every customer message; how many addresses it had."""
    row = (await session.execute(select(_s.customer_email, _s.customer_phone).where(_s.id == shipment_id))).first()
    if row is None:
        return 0
    rows = [
        {"address_hash": address_hash(address, secret), "channel": channel.value, "created_at": now}
        for address, channel in ((row.customer_email, Channel.EMAIL), (row.customer_phone, Channel.WHATSAPP))
        if address
    ]
    if rows:
        await session.execute(insert_skipping_duplicates(session, optouts_table, ["address_hash"]), rows)
    log.info("optout_recorded", shipment_id=shipment_id, addresses=len(rows))
    return len(rows)
