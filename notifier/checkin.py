"""The delivery check-in: signed, expiring links that need no login, and the customer's answer.

A token is ``base64url(version | purpose | shipment id | expiry | HMAC-SHA256[:16])``: 38 characters, checked
in constant time, with a key derived from ``ZELO_SECRET_KEY`` for this use only. Any answer but *entregue e
aceito* opens an incident with the customer's words and photo as evidence, in the caller's transaction,
and tells the detector's listeners (the outbox: ops alerts, the customer's acknowledgement).
"""

import base64
import hashlib
import hmac
import io
import re
import secrets
import struct
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.models import Checkin, Rating
from notifier.vocabulary import CheckinAnswer
from tracker.config import Settings
from tracker.detector import Detector
from tracker.models import shipments_table
from tracker.vocabulary import Kind

log = structlog.get_logger(__name__)
VALID_FOR = timedelta(days=14)
OPTOUT_VALID_FOR = timedelta(days=365)  # an unsubscribe link must keep working long after the message
PURPOSES = {"checkin": 1, "optout": 2}
LIFETIMES = {"checkin": VALID_FOR, "optout": OPTOUT_VALID_FOR}  # how long a link of each purpose lasts
REASONS = {"damaged": "Avaria (produto ou embalagem danificados)", "wrong_items": "Itens errados ou faltando"}
REASONS |= {"other": "Outro"}
MAX_COMMENT = 2000
MAX_PHOTO = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a phone's largest photos; more, in 5 MB, is a decompression bomb
PHOTO_TYPES = {"JPEG": ".jpg", "PNG": ".png"}  # as Pillow reads them
_PHOTO_NAME = re.compile(r"[0-9a-f]{32}\.(?:jpg|png)")  # what save_photo names them
_VERSION = 1
_PAYLOAD = struct.Struct(">BBQI")  # version, purpose, shipment id, expiry (Unix seconds)
_MAC = 16
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,80}")
_DAMAGE = re.compile(r"avari|danific|quebr|amass|rasg|molhad|estragad|trinc|rachad|violad|furad|damage|broken")
_s = shipments_table.c


class PhotoError(ValueError):
    """``not_an_image`` (no JPEG or PNG that opens and verifies), ``too_big`` or ``too_many_pixels``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CheckinError(Exception):
    """``tampered`` | ``expired`` (a link), ``unknown_shipment``, ``already_answered``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


RATINGS = range(1, 6)  # the delivery, 1 (bad) to 5 (great): one tap, an average per carrier (README)


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"zelo/customer-links/v1", hashlib.sha256).digest()


def make_token(shipment_id: int, *, secret: str, expires_at: datetime, purpose: str = "checkin") -> str:
    payload = _PAYLOAD.pack(_VERSION, PURPOSES[purpose], shipment_id, int(expires_at.timestamp()))
    mac = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:_MAC]
    return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode()


def read_token(token: str, *, secret: str, now: datetime, purpose: str = "checkin") -> int:
    """The shipment id a genuine, unexpired token names."""
    tampered = CheckinError("tampered", "the link is not one we sent (altered or cut short)")
    if not _TOKEN.fullmatch(token):
        raise tampered
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:  # binascii.Error: a length no encoder produces
        raise tampered from None
    if len(raw) != _PAYLOAD.size + _MAC:
        raise tampered
    payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    if not hmac.compare_digest(mac, hmac.new(_key(secret), payload, hashlib.sha256).digest()[:_MAC]):
        raise tampered
    version, kind, shipment_id, expires = _PAYLOAD.unpack(payload)
    if version != _VERSION or kind != PURPOSES[purpose]:
        raise tampered
    if now.timestamp() >= expires:
        raise CheckinError("expired", f"the link expired on {datetime.fromtimestamp(expires, now.tzinfo):%d/%m/%Y}")
    return int(shipment_id)


def checkin_links(shipment_id: int, *, settings: Settings, now: datetime) -> dict[str, str]:
    """``checkin_<answer>`` for each answer and ``optout``, as absolute URLs, each lasting its ``LIFETIMES``."""
    secret, base = settings.secret_key.get_secret_value(), settings.public_base_url.rstrip("/")
    token = make_token(shipment_id, secret=secret, expires_at=now + LIFETIMES["checkin"])
    links = {f"checkin_{a.value}": f"{base}/c/{token}?answer={a.value}" for a in CheckinAnswer}
    optout = make_token(shipment_id, secret=secret, expires_at=now + LIFETIMES["optout"], purpose="optout")
    return links | {"optout": f"{base}/optout/{optout}"}


def says_damaged(text: str | None) -> bool:
    """Whether the customer's words speak of damage (pt-BR, accents or not)."""
    if not text:
        return False
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return _DAMAGE.search(plain) is not None


def incident_kind(answer: CheckinAnswer, reason: str | None, comment: str | None) -> Kind | None:
    if answer is CheckinAnswer.ACCEPTED:
        return None
    if answer is CheckinAnswer.NOT_RECEIVED:
        return Kind.NOT_RECEIVED
    return Kind.DAMAGED if reason == "damaged" or says_damaged(comment) else Kind.DIVERGENCE


def photo_suffix(data: bytes) -> str:
    """``.jpg`` or ``.png``: the type Pillow reads from the bytes (never the client's name or type), after
    checking the pixel count in the header and verifying the file's structure, without decoding it."""
    if len(data) > MAX_PHOTO:
        raise PhotoError("too_big", f"expected a photo of at most {MAX_PHOTO} bytes, got {len(data)}")
    too_many = PhotoError("too_many_pixels", f"expected a photo of at most {MAX_PIXELS:,} pixels")
    try:
        with Image.open(io.BytesIO(data), formats=list(PHOTO_TYPES)) as image:
            kind, (width, height) = str(image.format), image.size
            if width * height > MAX_PIXELS:
                raise too_many
            image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many from None
    except PhotoError:
        raise
    except Exception as exc:  # Pillow raises what the broken file provokes: OSError, SyntaxError, ValueError...
        raise PhotoError("not_an_image", f"expected a JPEG or PNG photo ({type(exc).__name__})") from None
    return PHOTO_TYPES[kind]


def save_photo(data: bytes, folder: Path) -> str:
    """Check a photo (:func:`photo_suffix`) and write it in ``folder`` under a random name (never the
    client's); that name, which is how the check-in refers to it."""
    name = f"{secrets.token_hex(16)}{photo_suffix(data)}"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("xb") as f:
        f.write(data)
    return name


def photo_file(name: str | None, folder: Path) -> Path | None:
    """The file of a saved photo, if ``name`` is one :func:`save_photo` gives and it is still in ``folder``;
    never a path outside it."""
    if name is None or not _PHOTO_NAME.fullmatch(name):
        return None
    path = folder / name
    return path if path.is_file() else None


def discard_photo(name: str | None, folder: Path) -> None:
    if (path := photo_file(name, folder)) is not None:
        path.unlink(missing_ok=True)


async def answered(session: AsyncSession, shipment_id: int) -> bool:
    """Whether the shipment's check-in was answered already."""
    return await session.scalar(select(Checkin.id).where(Checkin.shipment_id == shipment_id)) is not None


async def record_answer(
    session: AsyncSession,
    shipment_id: int,
    answer: CheckinAnswer,
    comment: str | None,
    photo_path: str | None,  # the photo's name under the uploads folder (save_photo)
    *,
    now: datetime,
    detector: Detector,
    reason: str | None = None,
    rating: int | None = None,
) -> Checkin:
    """Store the customer's answer (once per shipment), with the delivery's rating (1 to 5) if given, and open the
    incident it implies."""
    if reason is not None and reason not in REASONS:
        raise ValueError(f"reason {reason!r} is not one of {', '.join(REASONS)}")
    if rating is not None and rating not in RATINGS:
        raise ValueError(f"rating {rating!r} is not one of 1 to 5")
    if await session.scalar(select(_s.id).where(_s.id == shipment_id)) is None:
        raise CheckinError("unknown_shipment", f"no shipment with id {shipment_id}")
    if await answered(session, shipment_id):
        raise CheckinError("already_answered", f"shipment {shipment_id}'s check-in was already answered")
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    row = Checkin(shipment_id=shipment_id, answer=answer.value, comment=comment, photo_path=photo_path, answered_at=now)
    if rating is not None:
        session.add(Rating(shipment_id=shipment_id, rating=rating, rated_at=now))
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # answered at the same moment from another tab: the first one stands
        raise CheckinError("already_answered", f"shipment {shipment_id}'s check-in was already answered") from None
    kind = incident_kind(answer, reason, comment)
    if kind is not None:
        said = {"answer": answer.value, "reason": reason, "comment": comment, "photo": photo_path}
        said["answered_at"] = now.isoformat()
        evidence = {"source": "checkin", "checkin": said}
        trigger = f"checkin:{said['answered_at']}"
        row.incident_id = await detector.report(session, shipment_id, kind, trigger=trigger, evidence=evidence, now=now)
        await session.flush()
    log.info("checkin_answered", shipment_id=shipment_id, answer=answer.value, incident=kind and kind.value)
    return row
