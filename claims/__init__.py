"""Carrier claims: policies, lifecycle, evidence and packet, filers; the process's claims service.

For the composition root: :func:`claims_of` (the detector listener, and what people's moves go through),
:func:`filers_of` (where the filing loop gets its filers), :func:`filer_of` and :func:`follower_of` (the
filing loop and the reader of the carrier's answers); for the pages: the claims table (:class:`Claim`), a
person's moves (:class:`Actions`, refused with a :class:`ClaimError`), what is not filed yet (``NOT_FILED``) and
the business days left in a window (:func:`business_days_left`) and the packet to file (:func:`packet_html`)."""

from email.utils import parseaddr
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from claims.filers import RuntimeFilers, filers_of
from claims.filing import Filer, Follower
from claims.lifecycle import Actions, ClaimError, Verdict
from claims.models import Claim
from claims.policy import load_policies
from claims.service import Claims
from claims.vocabulary import NOT_FILED
from claims.windows import business_days_left
from tracker.runtime import Runtime

__all__ = [
    "NOT_FILED",
    "Actions",
    "Claim",
    "ClaimError",
    "Claims",
    "Filer",
    "Follower",
    "RuntimeFilers",
    "Verdict",
    "business_days_left",
    "claims_of",
    "filer_of",
    "filers_of",
    "follower_of",
    "packet_html",
]


async def packet_html(session: AsyncSession, claim_id: int, uploads_dir: Path) -> str:
    """The claim packet as the carrier reads it (pt-BR HTML, the photo inlined); LookupError: no such claim."""
    import asyncio

    from claims import packet
    from claims.evidence import gather

    evidence = await gather(session, claim_id, "carrier")
    return await asyncio.to_thread(packet.html, evidence, packet.photo_of(evidence, uploads_dir))


def claims_of(runtime: Runtime) -> Claims:
    """The process's claims service (its policies and business calendar, loaded once)."""
    return runtime.service(_claims)


def filer_of(runtime: Runtime) -> Filer:
    """The filing loop; the carrier answers to ``ZELO_REPLY_TO`` (else ``ZELO_EMAIL_FROM``); a refusal alerts ops."""
    return runtime.service(_filer)


def follower_of(runtime: Runtime) -> Follower:
    return runtime.service(_follower)


def _claims(runtime: Runtime) -> Claims:
    path = runtime.settings.claims_policies
    return Claims(policies=load_policies(Path(path))) if path else Claims()


def _filer(runtime: Runtime) -> Filer:
    s = runtime.settings
    reply = parseaddr(s.reply_to or s.email_from)[1]  # where the carrier answers: the store's address
    return Filer(runtime.sessions, claims_of(runtime), filers_of(runtime), reply_email=reply, alert=runtime.alert)


def _follower(runtime: Runtime) -> Follower:
    return Follower(runtime.sessions, Actions(claims_of(runtime)), filers_of(runtime))
