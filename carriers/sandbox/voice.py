"""A carrier's sandbox voice: its routes and, if it pushes, its push voice (listed in ``voices.py``).

Apart from ``voices.py`` so that a carrier's module can build its :class:`Voice` without importing the list
that imports it.
"""

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
