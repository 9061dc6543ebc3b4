"""E-mail written to a folder as ``.eml`` files instead of sent: the demo's channel, and a way to look at
what customers would receive. Each file opens in any mail client."""

from pathlib import Path

from notifier.channels.base import Handed, Outgoing, Sent, unrecorded
from notifier.channels.email import build_message


class EmlFolderChannel:
    name = "email"
    supports_idempotency = True  # a rewrite of the same notification replaces its own file

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder, self.sender = folder, sender
        folder.mkdir(parents=True, exist_ok=True)

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent:
        await handed()
        path = self.folder / f"{message.notification_id:06d}.eml"
        path.write_bytes(build_message(message, self.sender).as_bytes())
        return Sent(provider_id=path.name)

    async def aclose(self) -> None:
        pass
