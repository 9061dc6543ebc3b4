"""A batch's hand-off to the channels: each message is marked handed (``handed_at``) at the last moment
before it leaves, all of a send's rows or none, and only while the run's claim still holds them (``HELD``: the
row is ``sending`` with this run's lease). One statement each (autocommit), on the batch's own connection:
a kill after it may hide a delivery, a kill before it leaves the message untried."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, bindparam, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from notifier.channels.base import TemporaryFailure
from notifier.models import notifications_table
from notifier.vocabulary import NotificationStatus
from tracker.clock import Clock

_n = notifications_table.c
HELD = (_n.status == NotificationStatus.SENDING.value, _n.due_at == bindparam("_lease"))  # by this run's claim
_MARK = update(notifications_table).where(_n.id.in_(bindparam("ids", expanding=True)), *HELD)
_UNMARK = _MARK.where(_n.handed_at == bindparam("at")).values(handed_at=None)
_MARK = _MARK.values(handed_at=bindparam("at"))


class Lost(Exception):
    """The run's lease on the rows ran out and another run took them over: not sent, not recorded."""


@dataclass
class Handoff:
    """One batch's marks."""

    connection: AsyncConnection
    clock: Clock
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def mark(self, rows: Sequence[Row[Any]]) -> None:
        params = {"ids": [n.id for n in rows], "_lease": rows[0].due_at, "at": self.clock.now()}
        try:
            async with self.lock:
                marked = await self.connection.execute(_MARK, params)
                if marked.rowcount != len(rows):  # another run took some over: none is handed
                    await self.connection.execute(_UNMARK, params)
                    raise Lost()
        except SQLAlchemyError as exc:  # not handed, so not sent: a try to retry
            raise TemporaryFailure(
                "handoff_failed", f"could not mark the message handed: {type(exc).__name__}"
            ) from exc
