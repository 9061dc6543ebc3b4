"""The checks every sandbox carrier endpoint meets after its own authentication: outage (503), the carrier's
injected error rate (503), the rate limit per credential (429, ``Retry-After: 1`` on odd rejections), latency."""

import asyncio
import base64
import binascii

from starlette.responses import JSONResponse, Response

from carriers.sandbox.state import SandboxState


async def refused(state: SandboxState, carrier: str, key: str) -> Response | None:
    """The refusal a call of ``carrier`` authenticated as ``key`` meets, or None to go on."""
    if state.faults.in_outage(state.clock.now()) or state.flaky(carrier):
        return JSONResponse({"error": "Serviço temporariamente indisponível."}, status_code=503)
    rejection = state.admit(f"{carrier}:{key}")
    if rejection is not None:
        return Response(status_code=429, headers={"Retry-After": "1"} if rejection % 2 else None)
    if state.faults.latency_ms > 0:
        await asyncio.sleep(state.faults.latency_ms / 1000)
    return None


def basic_credentials(header: str) -> tuple[str, str]:
    """(user, password) of an ``Authorization: Basic`` header; ("", "") when absent or unreadable."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password
