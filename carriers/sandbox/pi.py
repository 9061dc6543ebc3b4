"""The sandbox's pedido-informacao replica: Correios' claim rules played on the scenario timelines.

``cadastra`` checks, per object and in this order: the fields (250/271, 240/241, 301, 260/261, 280/281,
580/282), a national code (272), a registered parcel (4), the configured temporary error rate (999, drawn
from the seed, the object, the motivo and the attempt's number), a motivo configured as not allowed by web
service (262), a second registration of the same object and motivo (900),
then the parcel's own timeline at the sandbox clock: 544 while it is undelivered inside its deadline
(``dtPrevista``), 530 for a delay claim whose delivery, first attempt or pickup availability was on time,
531 for a delay claim on an undelivered parcel, 546 for "não entregue" on a delivered one, 547 for "local
divergente" on an undelivered one, and 564/510 past the window (30 calendar days from the day after the
expected or delivery date, whichever came first; 90 days for the motivos in ``WINDOW_90``, the sandbox's
choice). Business days here are Monday to Friday (no holidays).

A claim is answered ``answer_days`` business days after filing as its scenario's ``claim`` says, and an
upheld one is paid ``paid_days`` business days after the answer. The payment is reported in acompanha's
``valorPago`` and ``dataPagamento``: SANDBOX-ONLY fields, which the real API does not have.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from carriers.base import Status
from carriers.correios.codes import lookup
from carriers.sandbox.model import LOCAL_TZ, ClaimPlan

MOTIVOS = frozenset({132, 133, 134, 135, 136, 141, 142, 148, 211, 240, 1414})
DELAY, NOT_DELIVERED, ELSEWHERE = 135, 211, 132
WINDOW_90 = frozenset({133, 134, 211})  # loss, damage, rifled content: the decree's 90 days
WINDOW_30 = 30
REACTIVATION_DAYS = 30  # calendar days after the answer in which a reactivation is taken
OBJECT = re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REPLIED = {"upheld": "Sua manifestação foi considerada procedente.", "denied": "Sua manifestação não procede."}


@dataclass
class Manifestacao:
    """One registered claim in the sandbox's store."""

    protocol: str
    code: str
    motivo: int
    kind: str  # tipoManifestacao: R | I
    filed_at: datetime
    answer_at: datetime
    plan: ClaimPlan
    reactivated: bool = False

    @property
    def verdict(self) -> str:
        return self.plan.reactivated_verdict if self.reactivated else self.plan.verdict

    @property
    def paid_at(self) -> datetime | None:
        if self.verdict != "upheld" or self.plan.paid is None:
            return None
        return add_business_days(self.answer_at, self.plan.paid_days)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the parcel's timeline shows at an instant."""

    deadline: datetime | None  # end of dtPrevista (Brasília)
    delivered_at: datetime | None
    first_reached_at: datetime | None  # delivered, first attempt or available for pickup: what stops the delay clock


def add_business_days(when: datetime, days: int) -> datetime:
    """``when`` moved ``days`` weekdays on, keeping its Brasília wall-clock time."""
    local = when.astimezone(LOCAL_TZ)
    day = local.date()
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), LOCAL_TZ)


def facts(obj: dict[str, Any]) -> Facts:
    """The dates that decide a claim, from a rendered Correios object (events newest first; EST voids one)."""
    deadline = None
    if isinstance(obj.get("dtPrevista"), str):
        deadline = datetime.fromisoformat(obj["dtPrevista"]).replace(tzinfo=LOCAL_TZ)
    kept: list[tuple[datetime, Status]] = []
    for event in reversed(obj.get("eventos") or []):
        if event["codigo"] == "EST":
            kept = kept[:-1]
            continue
        info = lookup(event["codigo"], event["tipo"])
        if info is not None:
            kept.append((datetime.fromisoformat(event["dtHrCriado"]).replace(tzinfo=LOCAL_TZ), info.status))
    delivered = next((at for at, status in kept if status is Status.DELIVERED), None)
    reached = (Status.DELIVERED, Status.DELIVERY_FAILED, Status.AWAITING_PICKUP)
    first = next((at for at, status in kept if status in reached), None)
    return Facts(deadline, delivered, first)


def pedido_problem(item: Any) -> int | None:
    """The return code for a pedido whose fields are wrong, or None."""
    if not isinstance(item, dict):
        return 250
    code = item.get("codigoObjeto")
    if not isinstance(code, str) or not code.strip():
        return 250
    if not OBJECT.match(code.strip().upper()):
        return 271
    email = item.get("emailResposta")
    if not isinstance(email, str) or not email.strip():
        return 240
    if not EMAIL.match(email.strip()):
        return 241
    name = item.get("nomeDestinatario")
    if not isinstance(name, str) or not name.strip():
        return 301
    motivo = item.get("codigoMotivoReclamacao")
    if motivo is None or motivo == "":
        return 260
    if not _integer(motivo) or int(motivo) not in MOTIVOS:
        return 261
    packaging = item.get("tipoEmbalagem")
    if not packaging:
        return 280
    if packaging not in ("E", "C"):
        return 281
    kind = item.get("tipoManifestacao")
    if not kind:
        return 580
    if kind not in ("R", "I"):
        return 282
    return None


def timeline_problem(motivo: int, seen: Facts, now: datetime) -> int | None:
    """The return code the parcel's timeline gives a motivo at ``now``, or None when it may be registered."""
    if seen.delivered_at is None and seen.deadline is not None and now <= seen.deadline:
        return 544
    if motivo == DELAY:
        if seen.first_reached_at is None:
            return 531
        if seen.deadline is not None and seen.first_reached_at <= seen.deadline:
            return 530
    if motivo == NOT_DELIVERED and seen.delivered_at is not None:
        return 546
    if motivo == ELSEWHERE and seen.delivered_at is None:
        return 547
    anchors = [_local_day(d) for d in (seen.deadline, seen.delivered_at) if d is not None]
    if anchors:
        days = 90 if motivo in WINDOW_90 else WINDOW_30
        if _local_day(now) > min(anchors) + timedelta(days=days):
            return 510 if days == 90 else 564
    return None


def reactivation_problem(claim: Manifestacao | None, item: dict[str, Any], now: datetime) -> int | None:
    if claim is None:
        return 575
    if not item.get("observacao") or not item.get("motivoReativacao"):
        return 513
    if item.get("tipoManifestacao") not in (None, claim.kind):
        return 582
    if now < claim.answer_at:
        return 591 if claim.reactivated else 56
    if claim.verdict == "upheld":
        paid_at = claim.paid_at
        return 589 if paid_at is not None and now < paid_at else 595
    if claim.reactivated:
        return 595  # once only
    if _local_day(now) > _local_day(claim.answer_at) + timedelta(days=REACTIVATION_DAYS):
        return 587
    return None


def record(claim: Manifestacao, now: datetime) -> dict[str, Any]:
    """The acompanha answer for a claim at ``now`` (the manual's keys, plus the sandbox-only payment)."""
    answered = now >= claim.answer_at
    verdict = claim.verdict
    situation = "Respondida" if answered else "Reativada" if claim.reactivated else "Em andamento"
    out: dict[str, Any] = {
        "codigoObjeto": claim.code,
        "numeroPi": claim.protocol,
        "motivoReclamacaoInicial": str(claim.motivo),
        "motivoReclamacaoFinal": str(claim.motivo),
        "Data de Abertura PI": _day(claim.filed_at),
        "Situação Manifestação": situation,
        "Houve Recorrência": "S" if claim.reactivated else "N",
        "Indicativo Procedência": ("S" if verdict == "upheld" else "N") if answered else "",
        "Mensagem Última Resposta": (claim.plan.message or REPLIED[verdict]) if answered else "",
        "Data Última Resposta": stamp(claim.answer_at) if answered else "",
        "Código Retorno": "00",
        "descricaoRetorno": "Olá, sua manifestação foi registrada com sucesso.",
        "Tipo Manifestação": claim.kind,
        "Indica se a manifestacao foi registrada pelo nivel de servico": "N",
    }
    paid_at = claim.paid_at
    if answered and paid_at is not None and now >= paid_at and claim.plan.paid is not None:
        out["valorPago"] = _money(claim.plan.paid)  # SANDBOX-ONLY
        out["dataPagamento"] = stamp(paid_at)  # SANDBOX-ONLY
    return out


def stamp(when: datetime) -> str:
    """Correios' ``dd/mm/yyyy HH:MM:SS`` in Brasília."""
    return when.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S")


def _day(when: datetime) -> str:
    return when.astimezone(LOCAL_TZ).strftime("%d/%m/%Y")


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())


def _local_day(when: datetime) -> date:
    return when.astimezone(LOCAL_TZ).date()
