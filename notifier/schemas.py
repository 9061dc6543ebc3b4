"""Notifications in the API (pydantic)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shipment_id: int
    incident_id: int | None
    trigger: str
    channel: str
    status: str
    created_at: datetime
    due_at: datetime
    attempts: int
    handed_at: datetime | None  # when the last try went to its channel (or the wa.me queue)
    sent_at: datetime | None
    provider_id: str | None
    reason: str | None
    link: str | None  # the wa.me link, for the click-to-send queue
    facts: dict[str, Any]


class NotificationPage(BaseModel):
    notifications: list[NotificationOut]
    next_cursor: str | None
