"""Shipments: registering them to track, and reading them back with what every feature knows of them."""

from tracker.shipments.detail import Part
from tracker.shipments.schemas import ShipmentOut
from tracker.shipments.service import NewShipment, register

__all__ = ["NewShipment", "Part", "ShipmentOut", "register"]
