"""What the ingest routes share in a process: the group-commit batcher and the webhook keys."""

from dataclasses import dataclass

from tracker.ingest.batcher import GroupCommit


@dataclass
class IngestState:
    batcher: GroupCommit
    webhook_keys: list[bytes]
    max_body: int
