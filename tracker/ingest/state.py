"""What the ingest routes share in a process: the runtime, the group-commit batcher, the webhook keys
and a short cache of authenticated API keys."""

import time
from dataclasses import dataclass, field

from tracker.ingest.apikeys import Principal, authenticate
from tracker.ingest.batcher import GroupCommit
from tracker.problems import ProblemError
from tracker.runtime import Runtime

KEY_CACHE_S = 30.0


@dataclass
class IngestState:
    runtime: Runtime
    batcher: GroupCommit
    webhook_keys: list[bytes]
    max_body: int
    _keys: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)


async def principal(state: IngestState, authorization: str | None, scope: str) -> Principal:
    """The API key behind ``Authorization: Bearer <key>``, which must carry ``scope``."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise ProblemError(401, "Authentication required", "send Authorization: Bearer <API key>")
    cached = state._keys.get(key)
    if cached is None or time.monotonic() - cached[0] > KEY_CACHE_S:
        async with state.runtime.sessions() as session:
            cached = state._keys[key] = (time.monotonic(), await authenticate(session, key.strip()))
    who = cached[1]
    if who is None:
        raise ProblemError(401, "Invalid API key", "the key is unknown or revoked")
    if not who.allows(scope):
        raise ProblemError(403, "Missing scope", f"this key has {', '.join(sorted(who.scopes))}; {scope!r} is needed")
    return who
