"""A batch's outcomes, recorded while its sends go on, not once the whole batch is done: a dispatcher killed
mid-batch must leave unrecorded only a few messages the channel may have taken (what the next run marks
uncertain), never all those it had already accepted.

A send takes a slot just before it leaves and gives it back only once its outcome is written: of the
``concurrency`` slots, at most that many messages are ever handed and unrecorded. Outcomes wait and are
written together (group commit), a few transactions a batch: a write starts, one at a time, when half the
slots wait for it, or when no other send that holds a slot is still going (nothing more would join), and at
the batch's end. An outcome that took no slot (a message held back, put back, failed before its send, a
wa.me link) was never handed: it joins the next write without waiting for it. Each row is written only while
this run's claim still holds it (``HELD``). When a write fails, its slots are given back and its outcomes
wait for the next write; the batch's last write lets the error through."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import structlog
from sqlalchemy import Row, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.handoff import HELD
from notifier.models import attempts_table, notifications_table
from tracker.db import insert_skipping_duplicates

log = structlog.get_logger(__name__)
_n = notifications_table.c
_UPDATE = update(notifications_table).where(_n.id == bindparam("_id"), *HELD)


class Result(NamedTuple):
    values: dict[str, Any] | None  # the notification's new columns; None: the row is no longer this run's
    attempt: dict[str, Any] | None = None  # the attempt to record, when a send was tried
    fallback: dict[str, Any] | None = None  # a notification to queue on the fallback channel


Outcome = tuple[Row[Any], Result]  # a claimed row (as claimed: its lease) and what became of it


@dataclass(eq=False)
class Slot:
    """One send's place among those handed and unrecorded."""

    recorder: "Recorder"
    taken: bool = False
    written: bool = False  # its outcome written (or, when the write failed, left for the next one)

    async def take(self) -> None:
        """Just before the send (once its rate allows): waits while every slot is taken."""
        assert not self.taken, "one send per slot"
        await self.recorder._gate.acquire()
        self.taken = True
        self.recorder._taken += 1


@dataclass
class Recorder:
    """One batch's outcomes; ``outcomes`` counts those written, by (channel, status), and the rows lost."""

    sessions: async_sessionmaker[AsyncSession]
    outcomes: Counter[tuple[str, str]]
    concurrency: int
    _gate: asyncio.Semaphore = field(init=False)
    _taken: int = 0  # slots taken and not given back
    _waiting: list[Outcome] = field(default_factory=list)
    _slots: list[Slot] = field(default_factory=list)  # those whose outcome waits
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def __post_init__(self) -> None:
        self._gate = asyncio.Semaphore(self.concurrency)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """A slot for one send, taken by ``Slot.take``, given back by ``record`` (or here, if it never came to
        its record)."""
        slot = Slot(self)
        try:
            yield slot
        finally:
            if slot.taken and not slot.written:
                async with self._changed:
                    if slot in self._slots:
                        self._slots.remove(slot)
                    self._give_back([slot])
                    self._changed.notify_all()

    async def record(self, outcomes: Sequence[Outcome], slot: Slot) -> None:
        """Record the outcomes of ``slot``'s send; if it took its slot, return once they are written."""
        kept = [(n, result) for n, result in outcomes if result.values is not None]
        self.outcomes.update((n.channel, "lost") for n, result in outcomes if result.values is None)
        if not slot.taken:
            self._waiting += kept
            return
        async with self._changed:  # the outcomes and their slot join a write together
            self._waiting += kept
            self._slots.append(slot)
            while not slot.written:
                if self._due():
                    try:
                        await self._write_waiting()
                    except Exception as exc:  # the database is away: the sends stop at their hand-off meanwhile
                        log.warning("outcomes_not_recorded", waiting=len(self._waiting), error=type(exc).__name__)
                    self._changed.notify_all()
                else:
                    await self._changed.wait()

    async def close(self) -> None:
        """Write what still waits (outcomes without a slot, or left by a failed write); its error, if it fails."""
        async with self._changed:
            await self._write_waiting()

    def _due(self) -> bool:
        """Half the slots wait for a write, or every send that holds a slot does (none still going)."""
        return len(self._slots) >= max(1, self.concurrency // 2) or len(self._slots) == self._taken

    async def _write_waiting(self) -> None:
        batch, self._waiting = self._waiting, []
        slots, self._slots = self._slots, []
        try:
            if batch:
                rows = [{"_id": n.id, "_lease": n.due_at, **r.values} for n, r in batch if r.values is not None]
                attempts = [r.attempt for _, r in batch if r.attempt is not None]
                fallbacks = [r.fallback for _, r in batch if r.fallback is not None]
                async with self.sessions() as session, session.begin():
                    await write(session, rows, attempts, fallbacks)
                self.outcomes.update((n.channel, r.values["status"]) for n, r in batch if r.values is not None)
        except Exception:
            self._waiting[:0] = batch
            self._give_back(slots)
            raise
        except BaseException:  # cancelled: the slots go back as their sends end
            self._waiting[:0], self._slots[:0] = batch, slots
            raise
        self._give_back(slots)

    def _give_back(self, slots: list[Slot]) -> None:
        for slot in slots:
            slot.written = True
            self._taken -= 1
            self._gate.release()


async def write(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    fallbacks: Sequence[dict[str, Any]] = (),
) -> None:
    """Rows (each with its ``_id`` and ``_lease``: written only while held), attempts and fallbacks."""
    for keys in {tuple(sorted(r)) for r in rows}:  # executemany needs one key set per statement
        await session.execute(_UPDATE, [r for r in rows if tuple(sorted(r)) == keys])
    if attempts:
        await session.execute(attempts_table.insert(), attempts)
    if fallbacks:
        await session.execute(insert_skipping_duplicates(session, notifications_table, ["dedupe_key"]), fallbacks)
