"""A local Correios CWS sandbox: token + SRO Rastro REST shapes, scenario timelines played on a clock.

The demo, end-to-end tests and benchmarks point the Correios client at it instead of
api.correios.com.br. Scenarios are data (``scenarios.toml``); faults (outages, rate limits, latency,
short-lived tokens) are switched at runtime through :class:`Faults` or ``PUT /_sandbox/faults``.
"""

from carriers.sandbox.app import create_app
from carriers.sandbox.model import Parcel
from carriers.sandbox.scenarios import scenario_names
from carriers.sandbox.server import serve, spawn, wait_ready
from carriers.sandbox.state import Faults, SandboxClock, SandboxState

__all__ = [
    "Faults",
    "Parcel",
    "SandboxClock",
    "SandboxState",
    "create_app",
    "scenario_names",
    "serve",
    "spawn",
    "wait_ready",
]
