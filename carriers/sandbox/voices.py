"""The carriers the sandbox speaks besides Correios: each one's routes and, if it pushes, its push voice.

A carrier's sandbox module (``carriers/sandbox/<name>.py``) gives a :class:`Voice` (built from
:mod:`carriers.sandbox.voice`, never from here: this module imports the carriers' modules); adding one is a line here.
"""

from carriers.sandbox.pushes import Speaker
from carriers.sandbox.voice import Voice

__all__ = ["Voice", "speakers", "voices"]


def voices() -> tuple[Voice, ...]:
    from carriers.sandbox import jadlog, loggi, melhorenvio, totalexpress

    return (Voice(jadlog.CARRIER, jadlog.routes), loggi.VOICE, melhorenvio.VOICE, totalexpress.VOICE)


def speakers() -> dict[str, Speaker]:
    return {v.carrier: v.speaker for v in voices() if v.speaker is not None}
