"""The customer's pages, reached from links in messages (no login: the signed token is the key).

``GET/POST /c/{token}`` — the delivery check-in (three answers, a reason, a comment, an optional photo);
``GET/POST /optout/{token}`` — stop customer messages to the order's e-mail and phone. Answers are pt-BR
HTML pages, also for errors (a bad link 404, an expired one 410, a second answer 409), never a traceback.
The link is checked (genuine, unexpired, its shipment known, not answered yet) before a byte of the body is
read; the form is then read as it streams in, bounded (``FORM``: size, parts, files, headers, each field), and
refused at the first bound it passes. Photos (JPEG or PNG as Pillow reads and verifies them, up to 5 MB and
50 megapixels) are saved under ``ZELO_UPLOADS_DIR`` (``./zelo-uploads``) by a random name, which is all the
check-in and its incident keep of them.
"""

import asyncio
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from notifier import checkin
from notifier.checkin import (
    LIFETIMES,
    MAX_COMMENT,
    MAX_PHOTO,
    MAX_PIXELS,
    REASONS,
    CheckinError,
    PhotoError,
    read_token,
)
from notifier.form import Form, FormError, Limits, read_form
from notifier.optout import record_optout
from notifier.render import page
from notifier.vocabulary import CheckinAnswer
from tracker.detector import detector_of
from tracker.models import shipments_table
from tracker.runtime import Runtime
from tracker.web import runtime

router = APIRouter(include_in_schema=False)  # pages for people, not the API's contract
log = structlog.get_logger(__name__)
MAX_BODY = MAX_PHOTO + 64 * 1024
TOO_BIG = "A foto é grande demais: envie uma de até 5 MB."
LABELS = {
    "answer": "a resposta",
    "reason": "o problema",
    "comment": "o comentário",
    "photo": "a foto",
    "rating": "a nota",
}
# Five fields, some room for a browser's extras; a comment's 2,000 characters, percent-encoded, fit in a field.
FORM = Limits(
    body=MAX_BODY, parts=8, files=1, field=24_000, file=MAX_PHOTO, headers=2048, labels=LABELS, too_big=TOO_BIG
)
PROBLEMS = {
    "tampered": (404, "Link inválido", "Este link não é válido. Confira se ele foi copiado inteiro da mensagem."),
    "unknown_shipment": (404, "Pedido não encontrado", "Não encontramos o pedido deste link."),
    "expired": (410, "Link expirado", "Este link expirou: ele vale por {days} dias depois do envio da mensagem."),
    "already_answered": (409, "Resposta já registrada", "Você já respondeu sobre esta entrega. Obrigado!"),
}
PHOTO_PROBLEMS = {
    "not_an_image": (415, "A foto precisa ser JPEG ou PNG."),
    "too_big": (413, TOO_BIG),
    "too_many_pixels": (422, f"A foto tem pixels demais: envie uma de até {MAX_PIXELS // 10**6} megapixels."),
}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token never leaves in a Referer
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}
_s = shipments_table.c


def uploads_dir(request: Request) -> Path:
    """Where photos go (``ZELO_UPLOADS_DIR``)."""
    return Path(runtime(request).settings.uploads_dir)


def _html(rt: Runtime, name: str, status: int, **context: Any) -> HTMLResponse:
    context = {"store_name": rt.settings.store_name} | context
    return HTMLResponse(page(name, context, templates_dir=rt.settings.notify_templates_dir), status, HEADERS)


def _problem(rt: Runtime, code: str, purpose: str = "checkin") -> HTMLResponse:
    status, title, text = PROBLEMS[code]
    text = text.format(days=LIFETIMES[purpose].days)
    after = "Se precisar falar sobre a entrega, é só responder a mensagem que enviamos."
    log.info("customer_link_refused", code=code)
    return _html(rt, "message", status, title=title, paragraphs=[text, after])


async def _open(request: Request, token: str, purpose: str) -> tuple[Runtime, int, str, bool] | HTMLResponse:
    """The runtime, and the link's shipment: its id, order number, whether its check-in was answered."""
    rt = runtime(request)
    try:
        shipment_id = read_token(
            token, secret=rt.settings.secret_key.get_secret_value(), now=rt.clock.now(), purpose=purpose
        )
    except CheckinError as exc:
        return _problem(rt, exc.code, purpose)
    async with rt.sessions() as session:
        query = select(_s.order_number, _s.external_id, _s.tracking_code).where(_s.id == shipment_id)
        row = (await session.execute(query)).first()
        if row is None:
            return _problem(rt, "unknown_shipment")
        done = await checkin.answered(session, shipment_id)
    return rt, shipment_id, str(row.order_number or row.external_id or row.tracking_code), done


def _form_page(rt: Runtime, request: Request, order: str, status: int = 200, **values: Any) -> HTMLResponse:
    context = {"selected": None, "reason": None, "error": None, "rating": None} | values
    context |= {"comment": context.get("comment") or "", "reasons": list(REASONS.items())}
    context |= {"max_comment": MAX_COMMENT, "max_photo_mb": MAX_PHOTO // 2**20}
    return _html(rt, "checkin", status, order_number=order, action=request.url.path, **context)


@router.get("/c/{token}", response_class=HTMLResponse)
async def checkin_page(request: Request, token: str, answer: str | None = None) -> HTMLResponse:
    opened = await _open(request, token, "checkin")
    if isinstance(opened, HTMLResponse):
        return opened
    rt, _, order, done = opened
    if done:
        return _problem(rt, "already_answered")
    selected = answer if answer in {a.value for a in CheckinAnswer} else None
    return _form_page(rt, request, order, selected=selected)


@router.post("/c/{token}", response_class=HTMLResponse)
async def checkin_answer(request: Request, token: str, uploads: Annotated[Path, Depends(uploads_dir)]) -> HTMLResponse:
    opened = await _open(request, token, "checkin")
    if isinstance(opened, HTMLResponse):
        return opened
    rt, shipment_id, order, done = opened
    if done:  # before reading a byte of the body
        return _problem(rt, "already_answered")
    fields: dict[str, str] = {}
    try:
        form = await _read_form(request)
        fields, photo = form.fields, form.files.get("photo")
        answer, reason, comment, rating = _validate(fields)
        photo_name = await _save(photo, uploads) if photo else None  # Pillow reads it: off the event loop
    except FormError as exc:
        kept = {"selected": fields.get("answer"), "reason": fields.get("reason"), "comment": fields.get("comment")}
        kept["rating"] = fields.get("rating")
        return _form_page(rt, request, order, exc.status, error=str(exc), **kept)
    try:
        async with rt.sessions() as session, session.begin():
            now = rt.clock.now()
            await checkin.record_answer(
                session, shipment_id, answer, comment, photo_name, now=now, detector=detector_of(rt), reason=reason,
                rating=rating,
            )  # fmt: skip
    except BaseException as exc:
        checkin.discard_photo(photo_name, uploads)
        if isinstance(exc, CheckinError):
            return _problem(rt, exc.code)
        raise
    if answer is CheckinAnswer.ACCEPTED:
        paragraphs = ["Que bom que chegou tudo certo! Obrigado por nos contar.", "Boas compras e até a próxima."]
    else:
        paragraphs = [
            "Sentimos muito pelo problema. Já registramos sua resposta e estamos trabalhando para resolver.",
            "Nossa equipe vai falar com você pelo e-mail ou telefone do pedido.",
        ]
    return _html(rt, "message", 200, title="Obrigado pela resposta", paragraphs=paragraphs)


@router.get("/optout/{token}", response_class=HTMLResponse)
async def optout_page(request: Request, token: str) -> HTMLResponse:
    opened = await _open(request, token, "optout")
    if isinstance(opened, HTMLResponse):
        return opened
    return _html(opened[0], "optout", 200, order_number=opened[2], action=request.url.path)


@router.post("/optout/{token}", response_class=HTMLResponse)
async def optout(request: Request, token: str) -> HTMLResponse:
    opened = await _open(request, token, "optout")
    if isinstance(opened, HTMLResponse):
        return opened
    rt, shipment_id, _, _ = opened
    async with rt.sessions() as session, session.begin():
        await record_optout(session, shipment_id, secret=rt.settings.secret_key.get_secret_value(), now=rt.clock.now())
    paragraphs = [
        f"Você não vai mais receber mensagens da {rt.settings.store_name} sobre entregas no e-mail e no telefone"
        " deste pedido.",
        "Se mudar de ideia, é só falar com a loja.",
    ]
    return _html(rt, "message", 200, title="Pronto, avisos desativados", paragraphs=paragraphs)


async def _read_form(request: Request) -> Form:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise FormError(413, TOO_BIG)
    return await read_form(request.headers.get("content-type", ""), request.stream(), FORM)


async def _save(photo: bytes, uploads: Path) -> str:
    try:
        return await asyncio.to_thread(checkin.save_photo, photo, uploads)
    except PhotoError as exc:
        raise FormError(*PHOTO_PROBLEMS[exc.code]) from None


def _validate(fields: dict[str, str]) -> tuple[CheckinAnswer, str | None, str | None, int | None]:
    try:
        answer = CheckinAnswer(fields.get("answer", ""))
    except ValueError:
        raise FormError(422, "Escolha uma das três opções.") from None
    reason = fields.get("reason") or None
    if reason is not None and reason not in REASONS:
        raise FormError(422, "Escolha o problema na lista.")
    comment = fields.get("comment", "").strip()
    if len(comment) > MAX_COMMENT:
        raise FormError(422, f"O comentário passa de {MAX_COMMENT} caracteres: resuma um pouco, por favor.")
    given = fields.get("rating", "").strip()
    if given and given not in {str(n) for n in checkin.RATINGS}:
        raise FormError(422, "Dê uma nota de 1 a 5 para a entrega, ou deixe sem nota.")
    return answer, reason, comment or None, int(given) if given else None
