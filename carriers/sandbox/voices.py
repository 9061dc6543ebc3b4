"""The carriers the sandbox speaks besides Correios: each one's routes and, if it pushes, its push voice.

A carrier's sandbox module (``carriers/sandbox/<name>.py``) gives a :class:`Voice`; adding one is a line here.
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


def voices() -> tuple[Voice, ...]:
    from carriers.sandbox import melhorenvio

    return (melhorenvio.VOICE,)


def speakers() -> dict[str, Speaker]:
    return {v.carrier: v.speaker for v in voices() if v.speaker is not None}
