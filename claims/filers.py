"""The generic claim filers, and where the filing loop gets every filer (:class:`RuntimeFilers`).

- ``manual``: a person files the packet (CLI, API) and records "filed with protocol N"; the filing loop never
  hands it a claim, and if anything does, it answers "a person files it".
- ``email``: a claim letter with the packet (PDF) attached, sent by SMTP to the policy's ``claim_email``.
  SMTP cannot deduplicate, so each claim has one deterministic ``Message-ID``, which is also its protocol: a
  letter sent again (a filer killed before its answer was recorded) is the same message to the carrier's desk.
  The carrier answers a person's mailbox; they record it (``zelo claims answer``). A 4xx or a lost connection is
  retried later; a 5xx, no address or no SMTP server falls back to a person, with the reason.

Carrier filers (``correios_api``...) come from their carrier's spec, made once per carrier account.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Answer, ClaimFiler, ClaimRequest, Filing, Outcome
from carriers.base.registry import get as get_carrier
from claims import packet
from claims.evidence import Evidence, gather
from claims.filing import MANUAL
from claims.policy import Policies, load_policies
from tracker.models import CarrierAccount
from tracker.polling import account_config
from tracker.runtime import Runtime

EMAIL = "email"
GENERIC = frozenset({MANUAL, EMAIL})
_SCHEMES = {"smtp": (False, False, 25), "smtp+starttls": (False, True, 587), "smtps": (True, False, 465)}
_UNAVAILABLE = (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected, OSError)


@dataclass
class ManualFiler:
    name: str = MANUAL
    batch_limit: int = 500

    async def file(self, requests: Sequence[ClaimRequest]) -> list[Filing]:
        why = "a person files it from the claim packet, then records the protocol (zelo claims filed ID PROTOCOL)"
        return [Filing(r.claim_id, Outcome.FALL_BACK, reason=why) for r in requests]

    async def follow(self, protocols: Sequence[str]) -> list[Answer]:
        return []  # a person records the carrier's answer

    async def reactivate(self, protocol: str, claim_id: int, reason: str) -> Filing:
        return Filing(claim_id, Outcome.FILED, protocol, reason="reactivated by hand")


def message_id(claim_id: int, tracking_code: str, sender: str, suffix: str = "") -> str:
    """The claim letter's ``Message-ID`` (and protocol), the same every time: at most 64 characters."""
    domain = sender.rpartition("@")[2].strip(" >").lower() or "zelo"
    left = f"zelo-claim-{claim_id}{suffix}.{tracking_code.lower()}"
    mid = f"<{left}@{domain}>"
    return mid if len(mid) <= 64 else f"<{left[:56]}@zelo>"


@dataclass
class EmailFiler:
    sessions: async_sessionmaker[AsyncSession]
    policies: Policies
    sender: str  # ZELO_EMAIL_FROM
    store: str  # who signs the letter
    uploads_dir: Path  # the customers' check-in photos
    smtp_url: str | None
    folder: Path | None = None  # ZELO_EMAIL_FOLDER: letters written there as .eml instead (the demo)
    timeout: float = 30.0
    name: str = EMAIL
    batch_limit: int = 10

    async def file(self, requests: Sequence[ClaimRequest]) -> list[Filing]:
        return [await self._file(r) for r in requests]

    async def _file(self, r: ClaimRequest) -> Filing:
        async with self.sessions() as session:
            e = await gather(session, r.claim_id, "carrier")
        to = self.policies.for_shipment(e.parcel.carrier, e.parcel.service).claim_email
        if not to:
            why = f"the claim policy of {e.parcel.carrier} {e.parcel.service or ''} names no claim_email".rstrip()
            return Filing(r.claim_id, Outcome.FALL_BACK, reason=why)
        subject, text = packet.letter(e, self.store)
        mid = message_id(r.claim_id, e.parcel.tracking_code, self.sender)
        return await self._send(r.claim_id, self._mail(e, to, r.reply_email, subject, text, mid), mid)

    async def follow(self, protocols: Sequence[str]) -> list[Answer]:
        return []  # the carrier answers by e-mail, to a person

    async def reactivate(self, protocol: str, claim_id: int, reason: str) -> Filing:
        async with self.sessions() as session:
            e = await gather(session, claim_id, "carrier")
        to = self.policies.for_shipment(e.parcel.carrier, e.parcel.service).claim_email
        if not to:
            return Filing(claim_id, Outcome.FALL_BACK, reason="the claim policy names no claim_email")
        subject, text = packet.letter(e, self.store)
        mid = message_id(claim_id, e.parcel.tracking_code, self.sender, f"-r{e.claim.reactivations + 1}")
        text = f"Pedido de reativação da reclamação {protocol}: {reason}\n\n{text}"
        mail = self._mail(e, to, None, f"Reativação: {subject}", text, mid)
        mail["In-Reply-To"] = mail["References"] = protocol
        answer = await self._send(claim_id, mail, mid)
        return Filing(claim_id, answer.outcome, protocol if answer.protocol else None, answer.code, answer.reason)

    def _mail(self, e: Evidence, to: str, reply: str | None, subject: str, text: str, mid: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, to, subject
        if reply:
            mail["Reply-To"] = reply
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = mid
        mail.set_content(text)
        attachment = packet.pdf(e, packet.photo_of(e, self.uploads_dir))
        mail.add_attachment(attachment, maintype="application", subtype="pdf", filename=packet.filename(e, ".pdf"))
        return mail

    async def _send(self, claim_id: int, mail: EmailMessage, mid: str) -> Filing:
        def answer(outcome: Outcome, code: str | None, reason: str) -> Filing:
            return Filing(claim_id, outcome, mid if outcome is Outcome.FILED else None, code, reason)

        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"claim-{claim_id}.eml").write_bytes(bytes(mail))
            return answer(Outcome.FILED, None, f"written to {self.folder} (ZELO_EMAIL_FOLDER)")
        if not self.smtp_url:
            return answer(Outcome.FALL_BACK, None, "no SMTP server (ZELO_SMTP_URL is not set)")
        try:
            _, reply = await aiosmtplib.send(mail, **_smtp(self.smtp_url), timeout=self.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            code = min(r.code for r in exc.recipients)
            return answer(_by_code(code), str(code), f"{mail['To']} refused: {exc.recipients[0].message}")
        except aiosmtplib.SMTPResponseException as exc:
            return answer(_by_code(exc.code), str(exc.code), f"the SMTP server answered {exc.code} {exc.message}")
        except _UNAVAILABLE as exc:
            return answer(Outcome.RETRY, None, f"SMTP server unavailable: {type(exc).__name__}")
        except (ValueError, aiosmtplib.SMTPException) as exc:
            return answer(Outcome.FALL_BACK, None, f"the letter cannot be sent: {exc}")
        return answer(Outcome.FILED, "250", f"e-mailed to {mail['To']}: {reply}")


def _by_code(code: int) -> Outcome:
    return Outcome.RETRY if 400 <= code < 500 else Outcome.FALL_BACK


def _smtp(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise ValueError(f"SMTP URL must be smtp://, smtp+starttls:// or smtps://host[:port], not {parts.scheme}://")
    use_tls, start_tls, port = _SCHEMES[parts.scheme]
    return {
        "hostname": parts.hostname,
        "port": parts.port or port,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": use_tls,
        "start_tls": start_tls,
    }


@dataclass
class RuntimeFilers:
    """The filing loop's :class:`~claims.filing.FilerSource`: the generic filers by name, else the carrier's
    own filer on the shipment's carrier account; one filer per (name, account) per process."""

    runtime: Runtime
    policies: Policies = field(default_factory=load_policies)
    _made: dict[tuple[str, int | None], ClaimFiler] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def filer(self, name: str, carrier: str, account_id: int | None) -> ClaimFiler:
        key = (name, None if name in GENERIC else account_id)
        async with self._lock:
            if key not in self._made:
                self._made[key] = self._generic(name) if name in GENERIC else await self._of(name, carrier, account_id)
            return self._made[key]

    def _generic(self, name: str) -> ClaimFiler:
        if name == MANUAL:
            return ManualFiler()
        s = self.runtime.settings
        folder = Path(s.email_folder) if s.email_folder else None
        return EmailFiler(self.runtime.sessions, self.policies, s.email_from, s.store_name, Path(s.uploads_dir),
                          s.smtp_url, folder)  # fmt: skip

    async def _of(self, name: str, carrier: str, account_id: int | None) -> ClaimFiler:
        make = get_carrier(carrier).filer(name)  # NotSupported when the carrier offers no such filer
        async with self.runtime.sessions() as session:
            account = await session.get(CarrierAccount, account_id) if account_id is not None else None
        if account is None or account.carrier != carrier:
            raise LookupError(f"filer {name} needs a {carrier} carrier account; the shipment's is {account_id}")
        config = account_config(account, self.runtime.vault)
        return make(config, self.runtime.http, self.runtime.clock.now, asyncio.sleep)

    async def aclose(self) -> None:
        for made in self._made.values():
            close = getattr(made, "aclose", None)
            if close is not None:
                await close()
        self._made.clear()


def filers_of(runtime: Runtime) -> RuntimeFilers:
    """The process's filers (kept: a carrier filer keeps its token, a portal filer its browser)."""
    return runtime.service(RuntimeFilers)
