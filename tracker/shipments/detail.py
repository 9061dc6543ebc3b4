"""A shipment's detail, assembled from what each feature contributes: its events (the shipment's own),
then each feature's :class:`Part` (revisions, incidents, notifications, claims...), as the composition root
lists them."""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import TrackingEvent
from tracker.shipments.schemas import ShipmentOut


@dataclass(frozen=True, slots=True)
class Part:
    """A list named ``name`` in the shipment's detail: ``load`` reads the shipment's rows (oldest first),
    each shown as ``schema`` (a model read from attributes)."""

    name: str
    schema: type[BaseModel]
    load: Callable[[AsyncSession, int], Awaitable[Iterable[Any]]]

    async def of(self, session: AsyncSession, shipment_id: int) -> list[Any]:
        return [self.schema.model_validate(row) for row in await self.load(session, shipment_id)]


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    occurred_at: datetime
    code: str
    status: str
    reason: str | None
    description: str
    location: str | None
    voided: bool


async def _events(session: AsyncSession, shipment_id: int) -> Iterable[TrackingEvent]:
    query = select(TrackingEvent).where(TrackingEvent.shipment_id == shipment_id).order_by(TrackingEvent.occurred_at)
    return await session.scalars(query)


EVENTS = Part("events", EventOut, _events)


def detail_model(parts: Sequence[Part]) -> type[ShipmentOut]:
    """The ``ShipmentDetail`` schema: the shipment, its events, then every part."""
    fields: dict[str, Any] = {p.name: (list[p.schema], ...) for p in (EVENTS, *parts)}  # type: ignore[name-defined]
    return create_model("ShipmentDetail", __base__=ShipmentOut, **fields)
