"""What a poll cycle did, for the CLI, the demo and the logs."""

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class PollReport:
    polled: int = 0  # shipments that got an answer or a failure
    changed: int = 0  # shipments whose carrier data changed
    events: int = 0  # event rows written
    failed: int = 0  # shipments whose poll failed (carrier fault, no answer)
    stopped: Counter[str] = field(default_factory=Counter)  # why polling stopped: invalid_code, final, retired
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    unknown_codes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # by machine code
    skipped_accounts: set[str] = field(default_factory=set)  # circuit open
    incidents: Counter[str] = field(default_factory=Counter)  # opened by the detector, by kind
    released: int = 0  # held shipments whose carrier account now exists: due from now on
    deferred: int = 0  # claimed but not polled: their account's circuit opened, or the carrier asked for a pause
    leases_expired: int = 0  # shipments a poller claimed and never stored (it died or stalled): due again

    def merge(self, other: "PollReport") -> None:
        self.polled += other.polled
        self.changed += other.changed
        self.events += other.events
        self.failed += other.failed
        self.stopped.update(other.stopped)
        self.transitions.update(other.transitions)
        self.unknown_codes.update(other.unknown_codes)
        self.errors.update(other.errors)
        self.skipped_accounts |= other.skipped_accounts
        self.incidents.update(other.incidents)
        self.released += other.released
        self.deferred += other.deferred
        self.leases_expired += other.leases_expired
