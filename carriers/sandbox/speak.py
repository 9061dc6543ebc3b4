"""Pure: the scenario timelines, written in Correios' words, said in another carrier's words.

A scenario event is a Correios (type, status) pair. Its meaning in the normalized vocabulary comes from the
Correios code table; the other carrier's code for that meaning comes from that carrier's own ``codes.csv``
(:meth:`CodeTable.first_for`). So every carrier plays the same stories and a detector should raise the same
incidents whichever carrier carries the parcel.
"""

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from carriers.base.codes import CodeInfo, CodeTable
from carriers.base.vocabulary import Reason, Status
from carriers.correios.codes import lookup
from carriers.sandbox.model import Event

LOCAL_TZ = ZoneInfo("America/Sao_Paulo")


@cache
def meaning(event: Event) -> tuple[Status, Reason | None]:
    """The normalized status and reason of a scenario event (its Correios pair)."""
    info = lookup(event.type, event.status)
    if info is None:
        raise ValueError(f"scenario event {event.type}-{event.status} is not in the Correios code table")
    return info.status, info.reason


def said_by(table: CodeTable, event: Event) -> CodeInfo:
    """``event`` in the words of the carrier whose code table is ``table``; ValueError if it has none for it."""
    status, reason = meaning(event)
    info = table.first_for(status, reason)
    if info is None:
        raise ValueError(f"{table.name} has no code for status {status.value} (scenario event {event.description!r})")
    return info


def local(when: datetime, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """``when`` as Brasília local time in ``fmt`` (most Brazilian carriers write local times without an offset)."""
    return when.astimezone(LOCAL_TZ).strftime(fmt)
