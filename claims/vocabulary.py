"""Claim types and statuses, and who may move a claim where: one place (DESIGN §7)."""

from enum import StrEnum


class ClaimType(StrEnum):
    INFORMATION_REQUEST = "information_request"  # pedido de informação: what happened to the parcel
    REFUND = "refund"  # postage back for a delay
    INDEMNITY = "indemnity"  # loss, theft, damage: declared value (or the automatic amount) plus postage


class ClaimStatus(StrEnum):
    CANDIDATE = "candidate"  # an incident could become a claim: evidence or the window still missing
    READY = "ready"  # evidence complete and the window open: waiting for filing (or the store's approval)
    FILING = "filing"  # handed to a filer; a crash here is resolved by filing again (the carrier answers 900)
    FILED = "filed"  # the carrier's protocol number is known
    ANSWERED = "answered"  # the carrier answered; its verdict not yet read
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    DENIED = "denied"
    PAID = "paid"  # the money arrived, amount reconciled
    WITHDRAWN = "withdrawn"  # the parcel turned up, or the store gave it up
    REFUSED = "refused"  # the carrier would not register it: its code and reason are kept
    EXPIRED = "expired"  # the window closed unfiled: a critical alert, it must never happen

    @property
    def is_open(self) -> bool:
        """Still waiting for something: a filing, an answer or the money."""
        return self not in FINAL


FINAL = frozenset({ClaimStatus.PAID, ClaimStatus.WITHDRAWN, ClaimStatus.REFUSED, ClaimStatus.EXPIRED})
NOT_FILED = frozenset({ClaimStatus.CANDIDATE, ClaimStatus.READY, ClaimStatus.FILING})

_S = ClaimStatus
TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    _S.CANDIDATE: frozenset({_S.READY, _S.WITHDRAWN, _S.EXPIRED}),
    _S.READY: frozenset({_S.CANDIDATE, _S.FILING, _S.FILED, _S.WITHDRAWN, _S.EXPIRED}),
    _S.FILING: frozenset({_S.FILED, _S.READY, _S.REFUSED, _S.WITHDRAWN, _S.EXPIRED}),
    _S.FILED: frozenset({_S.ANSWERED, _S.APPROVED, _S.PARTIALLY_APPROVED, _S.DENIED, _S.WITHDRAWN}),
    _S.ANSWERED: frozenset({_S.APPROVED, _S.PARTIALLY_APPROVED, _S.DENIED}),
    _S.APPROVED: frozenset({_S.PAID}),
    _S.PARTIALLY_APPROVED: frozenset({_S.PAID}),
    _S.DENIED: frozenset({_S.FILED}),  # reactivated once, with a reason
    _S.PAID: frozenset(),
    _S.WITHDRAWN: frozenset(),
    _S.REFUSED: frozenset(),
    _S.EXPIRED: frozenset(),
}


class BadMove(ValueError):
    def __init__(self, current: ClaimStatus, wanted: ClaimStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is final"
        super().__init__(f"a claim in status {current!r} cannot move to {wanted!r}; allowed: {allowed}")
        self.current, self.wanted = current, wanted


def check_move(current: ClaimStatus, wanted: ClaimStatus) -> None:
    if wanted not in TRANSITIONS[current]:
        raise BadMove(current, wanted)
