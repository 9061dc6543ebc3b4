"""The claims side of a carrier: what a filer is asked to file, what it answers, and the protocol.

A filer files information requests and refund claims with a carrier and follows them to an answer. Each
call is idempotent per tracking code and motivo: filing again what the carrier already holds answers
``already_filed`` with its protocol, never a second claim. Every answer is classified as filed, refused
for good (with the carrier's code and reason) or retry later.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class Manifestation(StrEnum):
    """Correios' ``tipoManifestacao``: a complaint (information request) or a request for money back."""

    COMPLAINT = "R"  # reclamação
    REFUND = "I"  # solicitação de ressarcimento


class Outcome(StrEnum):
    FILED = "filed"  # a new protocol
    ALREADY_FILED = "already_filed"  # the carrier holds one for this parcel: its protocol, looked up
    REFUSED = "refused"  # for good: the carrier's code and reason say why
    RETRY = "retry"  # a temporary fault: file again later
    FALL_BACK = "fall_back"  # this filer cannot file it (e.g. motivo not allowed by web service): another may


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    claim_id: int
    tracking_code: str
    motivo: int
    manifestation: Manifestation
    packaging: str  # "C" box, "E" envelope
    addressee_name: str
    reply_email: str
    note: str  # observação: the claim's summary, pasted into the filing


@dataclass(frozen=True, slots=True)
class Filing:
    """The carrier's answer to one request."""

    claim_id: int
    outcome: Outcome
    protocol: str | None = None
    code: str | None = None  # the carrier's return code
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """Where a filed claim stands at the carrier (``acompanha``)."""

    protocol: str
    tracking_code: str
    answered: bool
    upheld: bool | None  # Correios' "Indicativo Procedência": S/N once answered
    message: str
    answered_at: datetime | None
    paid_amount: Decimal | None = None  # when the carrier reports the payment (the sandbox does)
    paid_at: datetime | None = None


class ClaimFiler(Protocol):
    name: str
    batch_limit: int

    async def file(self, requests: Sequence[ClaimRequest]) -> list[Filing]:
        """File up to ``batch_limit`` requests: one :class:`Filing` per request, in any order."""
        ...

    async def follow(self, protocols: Sequence[str]) -> list[Answer]:
        """Where each protocol stands; protocols the carrier does not know are left out."""
        ...

    async def reactivate(self, protocol: str, claim_id: int, reason: str) -> Filing:
        """Reopen a denied claim once, with the store's reason."""
        ...
