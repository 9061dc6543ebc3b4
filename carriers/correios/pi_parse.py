"""Pure: the JSON answers of Correios' pedido-informacao API, read defensively.

Keys come in several spellings, some with spaces and accents (``"numero do pi"``, ``"descrição retorno"``,
``"Indicativo Procedência"``); they are matched after folding case, accents, spaces and underscores. Dates are
``dd/mm/yyyy`` with an optional ``HH:MM[:SS]``, Brasília local time; they come back as aware UTC. A shape we
cannot read raises :class:`ContractError` naming the field and the value.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from carriers.base import Answer, ContractError
from carriers.correios.parse import CARRIER, LOCAL_TZ

_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")
UPHELD = {"S": True, "N": False}


def fold(key: str) -> str:
    """``"Descrição Retorno"`` → ``"descricaoretorno"``: case, accents, spaces, '_' and '-' folded away."""
    plain = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_\-]+", "", plain).lower()


def field(record: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` present in ``record`` (compared folded), else None."""
    folded = {fold(k): v for k, v in record.items() if isinstance(k, str)}
    for name in names:
        value = folded.get(fold(name))
        if value is not None:
            return value
    return None


def text(record: dict[str, Any], *names: str) -> str:
    value = field(record, *names)
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""


def code(value: Any, what: str) -> int | None:
    """A return code given as a number or a string ("0", "00", " 544 "); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ContractError(f"{what}: expected a numeric return code, got {value!r}", carrier=CARRIER)


def local_datetime(value: Any, what: str) -> datetime | None:
    """``"20/04/2023 16:13:15"`` or ``"20/04/2023"`` (Brasília) → aware UTC; None when absent or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    match = _DATE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ContractError(f"{what}: expected dd/mm/yyyy [HH:MM:SS], got {value!r}", carrier=CARRIER)
    day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=LOCAL_TZ)
    except ValueError:
        raise ContractError(f"{what}: not a real date-time, got {value!r}", carrier=CARRIER) from None
    return local.astimezone(UTC)


def money(value: Any, what: str) -> Decimal | None:
    """An amount in R$ as a number or a string ("123.45", "123,45"); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ContractError(f"{what}: expected an amount in R$, got {value!r}", carrier=CARRIER)
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ContractError(f"{what}: expected an amount in R$, got {value!r}", carrier=CARRIER) from None
    if not amount.is_finite() or amount < 0:
        raise ContractError(f"{what}: expected an amount >= 0, got {value!r}", carrier=CARRIER)
    return amount


@dataclass(frozen=True, slots=True)
class Result:
    """One object's (or protocol's) line of a ``cadastra``/``reativa`` answer."""

    key: str  # the tracking code (cadastra) or the protocol (reativa)
    code: int | None
    description: str
    protocol: str


@dataclass(frozen=True, slots=True)
class Batch:
    code: int | None  # the answer's own codigoRetorno (for the whole batch)
    description: str
    results: tuple[Result, ...]


def batch(payload: Any, operation: str, key_names: tuple[str, ...]) -> Batch:
    """A ``cadastra`` or ``reativa`` answer: the batch's code and one :class:`Result` per line of ``pi``."""
    if not isinstance(payload, dict):
        raise ContractError(f"{operation}: expected a JSON object, got {type(payload).__name__}", carrier=CARRIER)
    top = code(field(payload, "codigoRetorno", "codigo retorno"), f"{operation}.codigoRetorno")
    lines = field(payload, "pi")
    if lines is None:
        lines = []
    if not isinstance(lines, list):
        raise ContractError(f"{operation}.pi: expected a list, got {type(lines).__name__}", carrier=CARRIER)
    if top is None and not lines:
        raise ContractError(
            f"{operation}: neither 'codigoRetorno' nor 'pi' in keys {sorted(payload)[:8]}", carrier=CARRIER
        )
    results = []
    for i, line in enumerate(lines):
        where = f"{operation}.pi[{i}]"
        if not isinstance(line, dict):
            raise ContractError(f"{where}: expected an object, got {line!r}", carrier=CARRIER)
        results.append(
            Result(
                key=text(line, *key_names).upper(),
                code=code(field(line, "codigo retorno", "codigoRetorno"), f"{where}['codigo retorno']"),
                description=text(line, "descrição retorno", "descricaoRetorno"),
                protocol=""
                if text(line, "numero do pi", "numeroPi") in ("", "0")
                else text(line, "numero do pi", "numeroPi"),
            )
        )
    return Batch(top, text(payload, "descricaoRetorno", "descrição retorno"), tuple(results))


def records(payload: Any) -> tuple[list[dict[str, Any]], int | None, str]:
    """An ``acompanha`` answer: its manifestação records, or none with the return code and text saying why."""
    items = payload if isinstance(payload, list) else [payload]
    found = [item for item in items if isinstance(item, dict) and text(item, "numeroPi", "numero do pi")]
    if found:
        return found, None, ""
    first = items[0] if items and isinstance(items[0], dict) else None
    if first is None:
        raise ContractError(f"acompanha: expected a JSON object, got {str(payload)[:80]!r}", carrier=CARRIER)
    returned = code(field(first, "codigoRetorno", "Código Retorno"), "acompanha.codigoRetorno")
    if returned is None:
        raise ContractError(
            f"acompanha: no 'numeroPi' nor 'codigoRetorno' in keys {sorted(first)[:8]}", carrier=CARRIER
        )
    return [], returned, text(first, "descricaoRetorno", "descrição retorno")


def motivos(record: dict[str, Any]) -> set[int]:
    """The initial and final motivo of a record (either may be absent)."""
    found = set()
    for name in ("motivoReclamacaoInicial", "motivoReclamacaoFinal"):
        value = code(field(record, name), f"acompanha.{name}")
        if value is not None:
            found.add(value)
    return found


def answer(record: dict[str, Any], protocol: str = "") -> Answer:
    """One ``acompanha`` record → :class:`Answer`; ``valorPago``/``dataPagamento`` are sandbox-only extras."""
    number = text(record, "numeroPi", "numero do pi") or protocol
    answered_at = local_datetime(field(record, "Data Última Resposta"), "acompanha['Data Última Resposta']")
    given = text(record, "Indicativo Procedência")
    verdict = given.upper()
    if verdict and verdict not in UPHELD:
        raise ContractError(f"acompanha['Indicativo Procedência']: expected S or N, got {given!r}", carrier=CARRIER)
    answered = answered_at is not None
    return Answer(
        protocol=number,
        tracking_code=text(record, "codigoObjeto", "codigo do objeto").upper(),
        answered=answered,
        upheld=UPHELD.get(verdict) if answered else None,
        message=text(record, "Mensagem Última Resposta"),
        answered_at=answered_at,
        paid_amount=money(field(record, "valorPago"), "acompanha.valorPago"),
        paid_at=local_datetime(field(record, "dataPagamento"), "acompanha.dataPagamento"),
    )
