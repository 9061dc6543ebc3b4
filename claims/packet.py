"""The claim packet in pt-BR: what a person (or the e-mail filer) hands the carrier, made from the claim's
:class:`~claims.evidence.Evidence`. One content, :func:`sections`, rendered two ways: HTML from a Jinja2
template (``templates/packet.html.j2``, autoescaped, the photo inlined so the file stands alone) and PDF drawn
with fpdf2 (pure Python: no browser, no system library). :func:`letter` is the claim letter that goes with it.
"""

import base64
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fpdf import FPDF

from claims.amounts import brl
from claims.evidence import Evidence
from claims.windows import CARRIER_ZONE
from notifier import photo_file

TEMPLATES = Path(__file__).with_name("templates")
LABELS_FILE = Path(__file__).with_name("labels.toml")
NONE = "—"
_PHOTO_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and either label: value ``rows`` or a ``table`` under its ``header``."""

    title: str
    rows: Sequence[tuple[str, str]] = ()
    header: tuple[str, ...] = ()
    table: Sequence[tuple[str, ...]] = ()
    empty: str = ""  # said when there is nothing to show


@cache
def labels() -> dict[str, dict[str, str]]:
    with LABELS_FILE.open("rb") as f:
        return tomllib.load(f)


def label(group: str, value: str | None) -> str:
    if value is None:
        return NONE
    return labels().get(group, {}).get(value, value)


def money(value: Decimal | None, none: str = NONE) -> str:
    """``Decimal("1234.5")`` → ``R$ 1.234,50``."""
    return none if value is None else f"R$ {brl(value)}"


def when(value: datetime | date | None) -> str:
    """A date as ``dd/mm/aaaa``; an instant in Brasília time, ``dd/mm/aaaa hh:mm``."""
    if value is None:
        return NONE
    if isinstance(value, datetime):
        return f"{value.astimezone(CARRIER_ZONE):%d/%m/%Y %H:%M}"
    return f"{value:%d/%m/%Y}"


def filename(e: Evidence, suffix: str) -> str:
    """``reclamacao-ZELO-12.pdf``: the packet's file name, safe in a header and on any disk."""
    return "reclamacao-" + re.sub(r"[^A-Za-z0-9.-]+", "_", e.reference).strip("._") + suffix


def title(e: Evidence) -> str:
    return f"Reclamação {e.reference}: {label('claim_type', e.claim.claim_type)}"


def sections(e: Evidence) -> list[Section]:
    return [_claim(e), _parcel(e), _addressee(e), _events(e), _checkin(e), _messages(e), _history(e), _filings(e)]


def _claim(e: Evidence) -> Section:
    c = e.claim
    rows = [
        ("Referência", e.reference),
        ("Tipo", label("claim_type", c.claim_type)),
        ("Ocorrência", label("kind", c.kind)),
        ("Motivo (Correios)", f"{c.motivo}, {label('manifestation', c.manifestation)}"),
        ("Situação", label("status", c.status)),
        ("Valor reclamado", money(c.amount_claimed, "sem valor (pedido de informação)")),
        ("Cálculo do valor", c.amount_rule),
        ("Prazo para registro", f"de {when(c.opens_at)} a {when(c.closes_at)}"),
    ]
    if c.protocol:
        rows += [("Protocolo", c.protocol), ("Registrada em", when(c.filed_at))]
    if c.answer_due_at:
        rows.append(("Resposta esperada até", when(c.answer_due_at)))
    if c.answered_at:
        rows += [("Respondida em", when(c.answered_at)), ("Resposta", c.answer_message or NONE)]
    if c.amount_approved is not None:
        rows.append(("Valor aprovado", money(c.amount_approved)))
    if c.amount_paid is not None:
        rows.append(("Valor pago", f"{money(c.amount_paid)} em {when(c.paid_at)}"))
    if c.refusal_code or c.refusal_reason:
        rows.append(("Recusa da transportadora", f"código {c.refusal_code or NONE}: {c.refusal_reason or NONE}"))
    if c.missing:
        rows.append(("Evidências em falta", ", ".join(str(m) for m in c.missing)))
    return Section("Reclamação", rows)


def _parcel(e: Evidence) -> Section:
    p = e.parcel
    items = "; ".join(_item(i) for i in p.items) or NONE
    rows = [
        ("Código de rastreamento", p.tracking_code),
        ("Transportadora e serviço", f"{p.carrier} {p.service or ''}".strip()),
        ("Pedido", p.order_number or p.external_id or NONE),
        ("Nota fiscal (chave NF-e)", p.invoice_key or NONE),
        ("Valor declarado", money(p.declared_value, "não declarado")),
        ("Frete pago", money(p.shipping_cost)),
        ("Despachado em", when(p.shipped_at)),
        ("Postado em", when(p.posted_at)),
        ("Prazo prometido pela loja", when(p.promised_delivery_date)),
        ("Prazo original", when(p.original_promise_date)),
        ("Previsão da transportadora", when(p.carrier_expected_delivery)),
        ("Entregue em", when(p.delivered_at)),
        ("Situação atual", label("event_status", p.status)),
        ("Itens", items),
    ]
    return Section("Objeto", rows)


def _item(item: dict[str, Any]) -> str:
    what = item.get("description") or item.get("sku") or "item"
    return f"{item.get('quantity', 1)} × {what}"


def _addressee(e: Evidence) -> Section:
    a = e.addressee
    place = "/".join(x for x in (a.city, a.state) if x) or NONE
    rows = [("Nome", a.name or NONE), ("Cidade/UF", place), ("CEP", a.postal_code or NONE)]
    rows += [("E-mail", a.email or NONE), ("Telefone", a.phone or NONE)]
    return Section("Destinatário", rows)


def _events(e: Evidence) -> Section:
    table = [
        (
            when(ev.occurred_at),
            ev.code,
            label("event_status", ev.status) + (" (estornado)" if ev.voided else ""),
            ev.description,
            ev.location or NONE,
        )
        for ev in e.events
    ]
    header = ("Data", "Código", "Situação", "Descrição", "Local")
    return Section("Histórico de rastreamento", header=header, table=table, empty="Nenhum evento da transportadora.")


def _checkin(e: Evidence) -> Section:
    c = e.checkin
    if c is None:
        return Section("Confirmação do cliente", empty="O cliente não respondeu à confirmação de recebimento.")
    rows = [("Resposta", label("checkin", c.answer)), ("Respondida em", when(c.answered_at))]
    rows += [("Comentário", c.comment or NONE), ("Foto", "anexada" if c.photo else "não enviada")]
    return Section("Confirmação do cliente", rows)


def _messages(e: Evidence) -> Section:
    table = [
        (when(m.sent_at or m.created_at), label("channel", m.channel), label("trigger", m.trigger)) for m in e.messages
    ]
    return Section("Mensagens enviadas ao cliente", header=("Data", "Canal", "Mensagem"), table=table,
                   empty="Nenhuma mensagem enviada.")  # fmt: skip


def _history(e: Evidence) -> Section:
    table = [
        (when(h.at), h.actor, f"{label('status', h.from_status)} → {label('status', h.to_status)}", h.note or "")
        for h in e.history
    ]
    return Section("Histórico da reclamação", header=("Data", "Por", "Mudança", "Nota"), table=table)


def _filings(e: Evidence) -> Section:
    table = [
        (when(f.at), f.filer, label("operation", f.operation), label("outcome", f.outcome),
         f.protocol or NONE, f.code or NONE, f.reason)
        for f in e.filings
    ]  # fmt: skip
    header = ("Data", "Meio", "Operação", "Resultado", "Protocolo", "Código", "Motivo")
    return Section("Tentativas de registro", header=header, table=table, empty="Nenhuma tentativa ainda.")


def photo_of(e: Evidence, uploads_dir: Path) -> Path | None:
    """The customer's check-in photo, if they sent one and it is still kept."""
    return photo_file(e.checkin.photo, uploads_dir) if e.checkin else None


@cache
def _environment(html: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,  # noqa: S701 -- the letter is plain text (an e-mail body); HTML is always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def html(e: Evidence, photo: Path | None = None) -> str:
    """The packet as one HTML page (the photo inlined as a data: URI)."""
    image = None
    if photo is not None and photo.suffix in _PHOTO_TYPES:
        image = f"data:{_PHOTO_TYPES[photo.suffix]};base64,{base64.b64encode(photo.read_bytes()).decode()}"
    template = _environment(True).get_template("packet.html.j2")
    return template.render(title=title(e), sections=sections(e), photo=image, e=e)


def letter(e: Evidence, store: str) -> tuple[str, str]:
    """The claim letter: its subject (one line) and text, signed by ``store``."""
    text = _environment(False).get_template("letter.txt.j2").render(
        e=e, store=store, claim_type=label("claim_type", e.claim.claim_type), kind=label("kind", e.claim.kind),
        amount=money(e.claim.amount_claimed, ""), declared=money(e.parcel.declared_value, "não declarado"),
    )  # fmt: skip
    subject = f"{title(e)}, objeto {e.parcel.tracking_code}"
    return " ".join(subject.split()), text


def pdf(e: Evidence, photo: Path | None = None) -> bytes:
    """The packet as a PDF (A4), the same sections as the HTML, the photo on its own page."""
    doc = FPDF(format="A4")
    doc.set_title(_latin(title(e)))
    doc.set_creator("Zelo")
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    doc.set_font("Helvetica", "B", 14)
    doc.multi_cell(0, 8, _latin(title(e)), new_x="LMARGIN", new_y="NEXT")
    for s in sections(e):
        doc.ln(3)
        doc.set_font("Helvetica", "B", 11)
        doc.cell(0, 7, _latin(s.title), new_x="LMARGIN", new_y="NEXT")
        doc.set_font("Helvetica", "", 8)
        if s.rows:
            with doc.table(
                col_widths=(30, 70), first_row_as_headings=False, line_height=4.5, text_align="LEFT"
            ) as table:
                for name, value in s.rows:
                    table.row([_latin(name), _latin(value)])
        elif s.table:
            with doc.table(line_height=4.5, text_align="LEFT") as table:
                for cells in (s.header, *s.table):
                    table.row([_latin(c) for c in cells])
        else:
            doc.multi_cell(0, 5, _latin(s.empty), new_x="LMARGIN", new_y="NEXT")
    if photo is not None:
        doc.add_page()
        doc.set_font("Helvetica", "B", 11)
        doc.cell(0, 7, _latin("Foto enviada pelo cliente"), new_x="LMARGIN", new_y="NEXT")
        doc.image(str(photo), x=doc.l_margin, w=doc.epw, h=doc.eph - 20, keep_aspect_ratio=True)
    return bytes(doc.output())


def _latin(text: str) -> str:
    """Text in the PDF's core fonts (Latin-1, which holds all of Portuguese): a character outside it becomes
    its unaccented letter when it has one, else ``?``."""
    text = text.replace("—", "-").replace("–", "-").replace("→", "->").replace("…", "...")
    text = text.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    out = []
    for char in unicodedata.normalize("NFC", text):
        if ord(char) > 255:
            base = unicodedata.normalize("NFKD", char)[:1]
            char = base if base and ord(base) <= 255 else "?"
        out.append(char if char.isprintable() or char == " " else " ")
    return "".join(out)
