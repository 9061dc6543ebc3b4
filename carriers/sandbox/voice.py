"""What a carrier's sandbox module (``carriers/sandbox/<name>.py``) gives: a :class:`Voice`.

It lives apart from :mod:`carriers.sandbox.voices` (which imports every carrier's module) so a carrier's module can
build its voice without an import cycle.
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
