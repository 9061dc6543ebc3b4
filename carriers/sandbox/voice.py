"""What a carrier's sandbox module (``carriers/sandbox/<name>.py``) exposes as ``VOICE``: its routes and, if it
pushes, its push voice. Apart from :mod:`carriers.sandbox.voices`, which imports every carrier module, so that
a carrier module importing :class:`Voice` makes no import cycle."""

from collections.abc import Callable
from dataclasses import dataclass

from starlette.routing import BaseRoute

from carriers.sandbox.pushes import Speaker
from carriers.sandbox.state import SandboxState


@dataclass(frozen=True, slots=True)
class Voice:
    carrier: str
    routes: Callable[[SandboxState], list[BaseRoute]]
    speaker: Speaker | None = None  # None: the carrier does not push
