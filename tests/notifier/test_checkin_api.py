"""The customer's pages on SQLite and PostgreSQL: the check-in form, an answer with a photo opening an
incident with the customer's words, the error pages (bad link, expired, answered twice), the opt-out (also
in one click from a mail client's List-Unsubscribe), and the customer e-mail's headers and check-in words."""

import email
import io
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from notifier.channels.eml_folder import EmlFolderChannel
from notifier.checkin import checkin_links
from notifier.compose import make_compose
from notifier.context import message_context
from notifier.models import Checkin, Notification, OptOut, Rating, notifications_table
from notifier.optout import address_hash
from notifier.render import render
from notifier.vocabulary import Channel, CheckinAnswer, Trigger
from tests.support import correios_account
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.detector.models import Incident
from tracker.models import Shipment, shipments_table
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault
from zelo.app import create_app

Sessions = async_sessionmaker[AsyncSession]
SECRET = "pages-secret"


def _image(kind: str, size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels, with a few bytes of image data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


JPEG, PNG = _image("JPEG"), _image("PNG")
EMAIL, PHONE = "Ana.Souza@Example.com", "+5511987654321"


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def settings(engine: AsyncEngine, uploads: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key=SecretStr(SECRET),
        store_name="Casa Aurora",
        public_base_url="http://zelo",
        uploads_dir=str(uploads),
    )


@pytest.fixture
async def http(settings: Settings, clock: SimulatedClock, uploads: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://zelo") as client,
    ):
        yield client


@pytest.fixture
async def links(sessions: Sessions, vault: Vault, clock: SimulatedClock, settings: Settings) -> dict[str, str]:
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="loja", now=clock.now())
        item = NewShipment(
            "correios", account, "SS123456785BR", order_number="PED-77", customer_name="Ana Souza",
            customer_email=EMAIL, customer_phone=PHONE, destination_state="SP",
        )  # fmt: skip
        await register(session, [item], clock.now())
        shipment_id = await session.scalar(select(Shipment.id))
    assert shipment_id is not None
    return {
        k: v.removeprefix("http://zelo")
        for k, v in checkin_links(shipment_id, settings=settings, now=clock.now()).items()
    }


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def _path(link: str) -> str:
    return link.split("?")[0]


async def test_the_form_preselects_the_answer_from_the_link(http: httpx.AsyncClient, links: dict[str, str]) -> None:
    page = await http.get(links["checkin_with_issue"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    html = page.text
    assert "Casa Aurora" in html and "PED-77" in html
    assert 'value="with_issue" checked' in html and 'value="accepted" checked' not in html
    for words in ("Entregue e aceito", "Entregue com ressalva", "Não recebi", "Itens errados ou faltando"):
        assert words in html
    assert 'enctype="multipart/form-data"' in html and 'name="photo"' in html and 'name="comment"' in html
    assert 'value="with_issue" checked' not in (await http.get(_path(links["checkin_with_issue"]) + "?answer=x")).text


async def test_an_answer_with_a_photo_opens_an_incident_with_the_customers_words(
    http: httpx.AsyncClient, links: dict[str, str], sessions: Sessions, uploads: Path
) -> None:
    comment = "O rastreio diz entregue, mas ninguém veio. Estive em casa o dia todo."
    with capture_logs() as logs:
        answer = await http.post(
            _path(links["checkin_not_received"]),
            data={"answer": "not_received", "reason": "", "comment": comment},
            files={"photo": ("../../minha foto.jpg", JPEG, "image/jpeg")},
        )
    assert answer.status_code == 200, answer.text
    assert "Obrigado pela resposta" in answer.text and "Sentimos muito" in answer.text
    saved = _files(uploads)
    assert len(saved) == 1 and saved[0].suffix == ".jpg" and "foto" not in saved[0].name
    assert saved[0].read_bytes() == JPEG
    async with sessions() as session:
        checkin = await session.scalar(select(Checkin))
        assert checkin is not None and checkin.answer == "not_received" and checkin.comment == comment
        assert checkin.photo_path == saved[0].name  # relative to the uploads folder: no server path
        incident = await session.get(Incident, checkin.incident_id)
        assert incident is not None and incident.kind == "not_received" and incident.severity == "critical"
        assert incident.evidence["checkin"]["comment"] == comment
        assert incident.evidence["checkin"]["photo"] == saved[0].name and str(uploads) not in repr(incident.evidence)
    logged = repr(logs)
    assert "ninguém" not in logged and EMAIL.lower() not in logged.lower() and PHONE not in logged

    again = await http.post(_path(links["checkin_accepted"]), data={"answer": "accepted"})
    assert again.status_code == 409 and "já respondeu" in again.text and "Traceback" not in again.text
    assert (await http.get(links["checkin_accepted"])).status_code == 409
    assert len(_files(uploads)) == 1


async def test_the_delivery_may_be_rated_from_1_to_5(
    http: httpx.AsyncClient, links: dict[str, str], sessions: Sessions
) -> None:
    path = _path(links["checkin_accepted"])
    form = (await http.get(links["checkin_accepted"])).text
    assert "Que nota você dá para a entrega?" in form and 'name="rating" value="5"' in form
    wrong = await http.post(path, data={"answer": "accepted", "rating": "9"})
    assert wrong.status_code == 422 and "nota de 1 a 5" in wrong.text
    assert 'value="accepted" checked' in wrong.text  # the answer given is kept
    sent = await http.post(path, data={"answer": "accepted", "rating": "4"})
    assert sent.status_code == 200, sent.text
    async with sessions() as session:
        checkin = await session.scalar(select(Checkin))
        rating = await session.scalar(select(Rating))
    assert checkin is not None and checkin.answer == "accepted"
    assert rating is not None and (rating.shipment_id, rating.rating) == (checkin.shipment_id, 4)


async def test_with_issue_and_the_damage_reason_opens_a_damaged_incident(
    http: httpx.AsyncClient, links: dict[str, str], sessions: Sessions
) -> None:
    sent = await http.post(
        _path(links["checkin_with_issue"]), files={"answer": (None, "with_issue"), "reason": (None, "damaged")}
    )
    assert sent.status_code == 200, sent.text
    async with sessions() as session:
        kinds = [i.kind for i in await session.scalars(select(Incident))]
    assert kinds == ["damaged"]


async def test_bad_links_and_bad_forms_get_plain_pages(
    http: httpx.AsyncClient, links: dict[str, str], clock: SimulatedClock, sessions: Sessions, uploads: Path
) -> None:
    path = _path(links["checkin_accepted"])
    forged = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    for method in ("GET", "POST"):
        page = await http.request(method, forged, data={"answer": "accepted"})
        assert page.status_code == 404 and "Link inválido" in page.text and "Traceback" not in page.text
    assert (await http.get(links["optout"] + "x")).status_code == 404
    not_jpeg = await http.post(
        path, data={"answer": "with_issue"}, files={"photo": ("a.jpg", b"GIF89a....", "image/jpeg")}
    )
    assert (
        not_jpeg.status_code == 415 and "JPEG ou PNG" in not_jpeg.text and 'value="with_issue" checked' in not_jpeg.text
    )
    too_big = await http.post(
        path,
        data={"answer": "accepted"},
        files={"photo": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 5 * 2**20, "image/png")},
    )
    assert too_big.status_code == 413 and "5 MB" in too_big.text
    no_answer = await http.post(path, data={"comment": "<script>alert(1)</script>"})
    assert no_answer.status_code == 422 and "Escolha uma das três opções" in no_answer.text
    assert "&lt;script&gt;" in no_answer.text and "<script>" not in no_answer.text
    assert _files(uploads) == []
    clock.advance(timedelta(days=15))
    expired = await http.get(links["checkin_accepted"])
    assert expired.status_code == 410 and "expirou" in expired.text
    assert (await http.post(path, data={"answer": "accepted"})).status_code == 410
    async with sessions() as session:
        assert list(await session.scalars(select(Checkin))) == []


async def test_opt_out_is_recorded_as_hashes(
    http: httpx.AsyncClient, links: dict[str, str], sessions: Sessions, engine: AsyncEngine
) -> None:
    confirm = await http.get(links["optout"])
    assert confirm.status_code == 200 and "PED-77" in confirm.text and 'method="post"' in confirm.text
    async with sessions() as session:
        assert list(await session.scalars(select(OptOut))) == []  # a GET (a link preview) changes nothing
    for _ in range(2):
        done = await http.post(links["optout"])
        assert done.status_code == 200 and "avisos desativados" in done.text
    async with sessions() as session:
        rows = {(o.channel, o.address_hash) for o in await session.scalars(select(OptOut))}
    assert rows == {("email", address_hash(EMAIL.lower(), SECRET)), ("whatsapp", address_hash(PHONE, SECRET))}
    async with engine.connect() as conn:
        stored = repr((await conn.exec_driver_sql("SELECT * FROM notification_optouts")).all())
    assert "example" not in stored.lower() and "98765" not in stored


def _multipart(parts: list[tuple[str, bytes]], boundary: str = "zelo-test-boundary") -> tuple[bytes, dict[str, str]]:
    body = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary.encode(), name.encode(), value)
        for name, value in parts
    )
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    return body + b"--%s--\r\n" % boundary.encode(), headers


class Body:
    """A request body in 64 KB chunks that counts how many the app read."""

    def __init__(self, data: bytes) -> None:
        self.data, self.read = data, 0
        self.chunks = -(-len(data) // 65536)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), 65536):
            self.read += 1
            yield self.data[start : start + 65536]


async def _stored(sessions: Sessions) -> tuple[list[Checkin], list[Incident]]:
    async with sessions() as session:
        return list(await session.scalars(select(Checkin))), list(await session.scalars(select(Incident)))


async def test_a_form_of_a_hundred_thousand_parts_is_refused_after_a_few(
    http: httpx.AsyncClient, links: dict[str, str], sessions: Sessions
) -> None:
    body, headers = _multipart([("answer", b"not_received")] + [("x", b"1")] * 100_000, boundary="b")
    assert 5_000_000 < len(body) < 5 * 2**20  # under the size limit: only the count of parts gives it away
    stream = Body(body)
    refused = await http.post(_path(links["checkin_not_received"]), content=stream, headers=headers)
    assert refused.status_code == 400 and "campos demais" in refused.text and "Traceback" not in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert stream.read <= 2 < stream.chunks  # the parser stopped at the first chunk or two: bounded work
    assert await _stored(sessions) == ([], [])


@pytest.mark.parametrize(
    ("parts", "status", "says"),
    [
        ([("answer", b"accepted"), ("comment", "é".encode() * 20_000)], 413, "comentário"),  # one field too big
        ([("answer", b"bogus"), ("answer", b"accepted")], 200, "Obrigado"),  # a repeated field: the last counts
    ],
)
async def test_form_fields_are_bounded_one_by_one(
    http: httpx.AsyncClient, links: dict[str, str], parts: list[tuple[str, bytes]], status: int, says: str
) -> None:
    body, headers = _multipart(parts)
    answer = await http.post(_path(links["checkin_accepted"]), content=body, headers=headers)
    assert answer.status_code == status and says in answer.text


async def test_form_files_and_part_headers_are_bounded(
    http: httpx.AsyncClient, links: dict[str, str], sessions: Sessions
) -> None:
    path = _path(links["checkin_with_issue"])
    two = [("photo", ("a.jpg", JPEG, "image/jpeg")), ("other", ("b.jpg", JPEG, "image/jpeg"))]
    files = await http.post(path, data={"answer": "with_issue"}, files=two)
    assert files.status_code == 400 and "uma foto" in files.text
    headers = {"content-type": "multipart/form-data; boundary=b0undary"}
    for pads in ([3000], [800, 800, 800]):  # one long header line, or several that add up
        head = b'--b0undary\r\nContent-Disposition: form-data; name="answer"\r\n'
        head += b"".join(b"X-Pad: %s\r\n" % (b"p" * n) for n in pads) + b"\r\nwith_issue\r\n--b0undary--\r\n"
        padded = await http.post(path, content=head, headers=headers)
        assert padded.status_code == 400 and "cabeçalhos de mais de 2048 bytes" in padded.text
    garbled = await http.post(path, content=b"no boundary here", headers=headers)
    assert garbled.status_code == 400 and "incompleto" in garbled.text
    assert await _stored(sessions) == ([], [])


async def test_an_answered_link_refuses_a_second_answer_without_reading_it(
    http: httpx.AsyncClient, links: dict[str, str]
) -> None:
    path = _path(links["checkin_accepted"])
    assert (await http.post(path, data={"answer": "accepted"})).status_code == 200
    body, headers = _multipart([("answer", b"not_received"), ("comment", b"x" * 300_000)])
    stream = Body(body)
    again = await http.post(path, content=stream, headers=headers)
    assert again.status_code == 409 and "já respondeu" in again.text
    assert stream.read == 0


@pytest.mark.parametrize(
    ("photo", "status", "says"),
    [
        (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40, 415, "JPEG ou PNG"),  # the magic bytes, then no JPEG
        (PNG[:40], 415, "JPEG ou PNG"),  # cut short
        (_image("GIF"), 415, "JPEG ou PNG"),
        (_png_claiming(9000, 9000), 422, "50 megapixels"),  # 81 million pixels in a few bytes
        (_png_claiming(30000, 30000), 422, "50 megapixels"),  # a decompression bomb by Pillow's own measure
    ],
    ids=["magic-bytes-only", "cut-short", "gif", "81-megapixels", "900-megapixels"],
)
async def test_a_photo_must_be_a_real_jpeg_or_png_of_sane_dimensions(
    http: httpx.AsyncClient,
    links: dict[str, str],
    sessions: Sessions,
    uploads: Path,
    photo: bytes,
    status: int,
    says: str,
) -> None:
    files = {"photo": ("a.png", photo, "image/png")}
    sent = await http.post(_path(links["checkin_with_issue"]), data={"answer": "with_issue"}, files=files)
    assert sent.status_code == status and says in sent.text and "Traceback" not in sent.text
    assert _files(uploads) == [] and await _stored(sessions) == ([], [])


async def test_ops_fetch_the_photo_of_an_incident_with_a_read_key(
    http: httpx.AsyncClient, links: dict[str, str], sessions: Sessions, uploads: Path, keys: dict[str, dict[str, str]]
) -> None:
    sent = await http.post(
        _path(links["checkin_with_issue"]),
        data={"answer": "with_issue", "reason": "damaged"},
        files={"photo": ("caixa.png", PNG, "image/png")},
    )
    assert sent.status_code == 200, sent.text
    async with sessions() as session:
        checkin = await session.scalar(select(Checkin))
    assert checkin is not None and checkin.incident_id is not None
    route = f"/v1/incidents/{checkin.incident_id}/photo"
    photo = await http.get(route, headers=keys["reader"])
    assert photo.status_code == 200 and photo.content == PNG
    assert photo.headers["content-type"] == "image/png" and photo.headers["x-content-type-options"] == "nosniff"
    assert (await http.get(route)).status_code == 401
    assert (await http.get(f"/v1/incidents/{checkin.incident_id + 1}/photo", headers=keys["reader"])).status_code == 404
    (uploads.parent / "outside.png").write_bytes(PNG)
    for stored in ("../outside.png", str(uploads.parent / "outside.png"), "missing.png"):
        async with sessions() as session, session.begin():
            await session.execute(update(Checkin).values(photo_path=stored))
        refused = await http.get(route, headers=keys["reader"])
        assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
        assert str(uploads) not in refused.text


async def test_an_expired_link_says_how_long_links_of_its_kind_last(
    http: httpx.AsyncClient, links: dict[str, str], clock: SimulatedClock
) -> None:
    clock.advance(timedelta(days=15))
    checkin = await http.get(links["checkin_accepted"])
    assert checkin.status_code == 410 and "14 dias" in checkin.text
    assert (await http.get(links["optout"])).status_code == 200  # an opt-out link lasts longer
    clock.advance(timedelta(days=351))
    optout = await http.get(links["optout"])
    assert optout.status_code == 410 and "365 dias" in optout.text and "14 dias" not in optout.text


async def test_a_url_encoded_answer_keeps_its_words(
    http: httpx.AsyncClient, links: dict[str, str], sessions: Sessions
) -> None:
    said = "Caixa amassada & faltou a capa — ção 100%+"
    sent = await http.post(_path(links["checkin_with_issue"]), data={"answer": "with_issue", "comment": said})
    assert sent.status_code == 200, sent.text
    [checkin], [incident] = await _stored(sessions)
    assert checkin.comment == said and incident.kind == "damaged"


async def test_customer_emails_reply_to_the_store_unsubscribe_in_one_click_and_carry_the_clocks_date(
    http: httpx.AsyncClient,
    links: dict[str, str],
    sessions: Sessions,
    settings: Settings,
    clock: SimulatedClock,
    tmp_path: Path,
) -> None:
    settings = settings.model_copy(update={"reply_to": "Atendimento Aurora <atendimento@aurora.example>"})
    clock.advance(timedelta(days=40, hours=3, minutes=17))  # the simulated now, not the real one
    async with sessions() as session, session.begin():
        shipment_id = await session.scalar(select(Shipment.id))
        session.add(
            Notification(
                dedupe_key="d", shipment_id=shipment_id, trigger="delivered", channel="email", status="pending",
                facts={}, created_at=clock.now(), due_at=clock.now(), attempts=0,
            )
        )  # fmt: skip
    async with sessions() as session:
        n = (await session.execute(select(notifications_table))).one()
        s = (await session.execute(select(shipments_table))).one()
    message = await make_compose(settings)(n, s, clock.now())
    assert not isinstance(message, str)
    sent = await EmlFolderChannel(tmp_path / "mail", settings.email_from).send(message)
    mail = email.message_from_bytes((tmp_path / "mail" / str(sent.provider_id)).read_bytes())
    assert parseaddr(mail["Reply-To"]) == ("Atendimento Aurora", "atendimento@aurora.example")
    assert parsedate_to_datetime(mail["Date"]) == clock.now().replace(microsecond=0)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail["List-Unsubscribe"].strip()  # a long header is folded: the link never is
    assert unsubscribe.startswith("<http://zelo/optout/") and unsubscribe.endswith(">")
    one_click = await http.post(  # what a mail client sends (RFC 8058): no page, no cookie
        unsubscribe.strip("<>").removeprefix("http://zelo"),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    async with sessions() as session:
        assert {o.channel for o in await session.scalars(select(OptOut))} == {"email", "whatsapp"}
    without = await make_compose(settings.model_copy(update={"reply_to": None}))(n, s, clock.now())
    assert not isinstance(without, str) and "Reply-To" not in dict(without.headers)  # replies go to From


async def test_the_checkin_mail_says_what_its_links_do(
    http: httpx.AsyncClient, links: dict[str, str], settings: Settings, clock: SimulatedClock
) -> None:
    full = {k: f"http://zelo{v}" for k, v in links.items()}
    context = message_context(
        {"tracking_code": "SS123456785BR", "order_number": "PED-77"}, {}, settings=settings, links=full
    )
    mail = render(Trigger.CHECKIN, Channel.EMAIL, context)
    for answer in CheckinAnswer:  # each link opens the form with its answer already chosen ...
        page = (await http.get(links[f"checkin_{answer.value}"])).text
        assert f'value="{answer.value}" checked' in page
        assert '<button type="submit">Enviar resposta</button>' in page  # ... to be sent with this button
        assert 'name="photo"' in page and 'name="comment"' in page and 'name="reason"' in page
    for part in (mail.text, mail.html or ""):
        assert "já marcada" in part and "Enviar resposta" in part and "foto" in part and "comentário" in part
        assert "um clique" not in part  # it takes the page's button too
