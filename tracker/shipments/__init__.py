"""Shipments: registering them to track, and reading them back with what every feature knows of them."""

from tracker.shipments.detail import Part
from tracker.shipments.schemas import ShipmentOut
from tracker.shipments.service import NewShipment, find_shipment, register

__all__ = ["NewShipment", "Part", "ShipmentOut", "find_shipment", "register"]
