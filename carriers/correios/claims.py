"""The ``correios_api`` claim filer: Correios' REST pedido-informacao API (reference/carriers-brazil.md §3.7).

- ``file``: ``POST /pedido-informacao/v1/externo/pedidos/cadastra`` in batches of up to 50, one tracking code
  once per call (two claims on one parcel go in two calls); every return code is classified by
  ``pi_codes.csv``. 900 (already registered) is looked up with ``acompanha`` and answered ``already_filed``
  with the protocol Correios holds, so a claim is never filed twice. 999, timeouts, 5xx and 429 (after the
  client's back-off) answer ``retry``: filing again is safe, since Correios then answers 900.
- ``follow``: ``GET .../acompanha`` per protocol → :class:`Answer`.
- ``reactivate``: the protocol's type and motivo are read with ``acompanha``, then ``POST .../reativa``.

Credentials: ``contract`` (optional; else the contract of the token answer), ``phone`` (optional: sent as
``telefone`` when given). ``ClaimRequest.note`` has no field in ``cadastra``; ``reativa`` sends the reason as
``observacao``. Faults of the integration itself (credentials refused, HTTP 4xx, an answer we cannot read)
raise a :class:`~carriers.base.CarrierError` naming what is wrong; customer data never enters a reason or an
error message.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from carriers.base import (
    AccountConfig,
    Answer,
    CarrierError,
    ClaimRequest,
    Filing,
    Now,
    Outcome,
    Sleep,
    TransientError,
)
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.correios import pi_parse
from carriers.correios.cws import CwsSession
from carriers.correios.parse import CARRIER
from carriers.correios.pi_codes import lookup

log = logging.getLogger(__name__)

NAME = "correios_api"
BASE_PATH = "/pedido-informacao/v1/externo/pedidos"
CADASTRA = BASE_PATH + "/cadastra"
REATIVA = BASE_PATH + "/reativa"
ACOMPANHA = BASE_PATH + "/acompanha"  # the manual's example writes "pedidoinformacao" here: taken as a typo
BATCH_LIMIT = 50
NOTE_LIMIT = 1000  # observação of a reactivation
FOLLOW_CONCURRENCY = 8
DATA_STATUSES = (400, 404, 422)  # a 4xx whose JSON body carries a codigoRetorno is an answer, not a fault


class CorreiosApiFiler:
    name = NAME
    batch_limit = BATCH_LIMIT

    def __init__(
        self,
        account: AccountConfig,
        http: httpx.AsyncClient,
        now: Now,
        sleep: Sleep,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._cws = CwsSession(account, http, now, sleep, retry=retry)
        self._account = account

    async def file(self, requests: Sequence[ClaimRequest]) -> list[Filing]:
        if not 0 < len(requests) <= BATCH_LIMIT:
            raise ValueError(f"file() takes 1 to {BATCH_LIMIT} requests, got {len(requests)}")
        filings: list[Filing] = []
        for batch in _unique_codes(requests):
            filings += await self._register(batch)
        return filings

    async def follow(self, protocols: Sequence[str]) -> list[Answer]:
        gate = asyncio.Semaphore(FOLLOW_CONCURRENCY)

        async def one(protocol: str) -> Answer | None:
            async with gate:
                try:
                    found, returned, description = await self._acompanha(protocol)
                    if not found:
                        log.info("acompanha %s: code %s %s", protocol, returned, description)
                        return None
                    record = next((r for r in found if pi_parse.text(r, "numeroPi") == protocol), found[0])
                    return pi_parse.answer(record, protocol)
                except CarrierError as exc:
                    log.warning("acompanha %s left out: %s (%s)", protocol, exc, exc.code)
                    return None

        answers = await asyncio.gather(*(one(p) for p in dict.fromkeys(protocols)))
        return [a for a in answers if a is not None]

    async def reactivate(self, protocol: str, claim_id: int, reason: str) -> Filing:
        try:
            found, returned, description = await self._acompanha(protocol)
        except TransientError as exc:
            return Filing(claim_id, Outcome.RETRY, protocol, None, f"looking protocol {protocol} up failed: {exc}")
        except _NoContract as exc:
            return Filing(claim_id, Outcome.FALL_BACK, protocol, None, str(exc))
        if not found:
            return self._classify("acompanha", claim_id, returned, description, None)
        record = next((r for r in found if pi_parse.text(r, "numeroPi") == protocol), found[0])
        motivo = pi_parse.code(pi_parse.field(record, "motivoReclamacaoFinal"), "acompanha.motivoReclamacaoFinal")
        motivo = motivo or pi_parse.code(pi_parse.field(record, "motivoReclamacaoInicial"), "acompanha.motivo")
        if motivo is None:
            why = f"acompanha gives no motivo for protocol {protocol}: reactivate it by hand"
            return Filing(claim_id, Outcome.FALL_BACK, protocol, None, why)
        item = {
            "protocolo": protocol,
            "tipoManifestacao": pi_parse.text(record, "Tipo Manifestação").upper() or "R",
            "motivoReativacao": str(motivo),
            "observacao": " ".join(reason.split())[:NOTE_LIMIT],
        }
        body = {**await self._ids(), "reativacoes": [item]}
        try:
            payload = await self._post(REATIVA, body)
        except TransientError as exc:
            return Filing(claim_id, Outcome.RETRY, protocol, None, f"reativa: {exc}")
        answer = pi_parse.batch(payload, "reativa", ("protocolo", "numero do pi"))
        line = next((r for r in answer.results if r.key == protocol.upper()), None) or next(iter(answer.results), None)
        if line is not None and line.code:  # the line's own refusal; a line's "0" defers to the batch's 512
            returned, described = line.code, line.description or answer.description
        else:
            returned = answer.code if answer.code is not None else (line.code if line is not None else None)
            described = answer.description or (line.description if line is not None else "")
        return self._classify("reativa", claim_id, returned, described, (line.protocol if line else "") or protocol)

    async def _register(self, batch: Sequence[ClaimRequest]) -> list[Filing]:
        pedidos = [
            {
                "codigoObjeto": r.tracking_code,
                "emailResposta": r.reply_email,
                "nomeDestinatario": r.addressee_name,
                "codigoMotivoReclamacao": r.motivo,
                "tipoEmbalagem": r.packaging,
                "tipoManifestacao": r.manifestation.value,
            }
            for r in batch
        ]
        try:
            ids = await self._ids()
            payload = await self._post(CADASTRA, {**ids, **self._phone(), "pedidos": pedidos})
        except TransientError as exc:
            return [Filing(r.claim_id, Outcome.RETRY, reason=f"cadastra: {exc}") for r in batch]
        except _NoContract as exc:
            return [Filing(r.claim_id, Outcome.FALL_BACK, reason=str(exc)) for r in batch]
        answer = pi_parse.batch(payload, "cadastra", ("codigo do objeto", "codigoObjeto"))
        lines = {line.key: line for line in answer.results}
        filings = []
        for request in batch:
            line = lines.get(request.tracking_code.upper())
            if line is None and (answer.results or answer.code in (None, 0)):
                why = "cadastra answered no line for this object: filing again looks it up"
                filings.append(Filing(request.claim_id, Outcome.RETRY, reason=why))
                continue
            returned = line.code if line is not None else answer.code
            described = line.description if line is not None else answer.description
            filing = self._classify("cadastra", request.claim_id, returned, described, line.protocol if line else None)
            if filing.outcome is Outcome.ALREADY_FILED:
                filing = await self._already_filed(request, filing)
            filings.append(filing)
        return filings

    async def _already_filed(self, request: ClaimRequest, filing: Filing) -> Filing:
        """900: the protocol Correios holds for this object and motivo, looked up (never a second filing)."""
        claim_id, code = request.claim_id, filing.code
        try:
            found, returned, description = await self._acompanha(request.tracking_code)
        except CarrierError as exc:
            return Filing(claim_id, Outcome.RETRY, None, code, f"already registered; its look-up failed: {exc}")
        if not found:
            looked = self._classify("acompanha", claim_id, returned, description, None)
            return Filing(claim_id, looked.outcome, None, code, f"already registered; look-up: {looked.reason}")
        matching = [r for r in found if not pi_parse.motivos(r) or request.motivo in pi_parse.motivos(r)]
        if not matching:
            held = ", ".join(f"{pi_parse.text(r, 'numeroPi')} (motivo {sorted(pi_parse.motivos(r))})" for r in found)
            why = f"Correios holds another manifestação for this object: {held}; not motivo {request.motivo}"
            return Filing(claim_id, Outcome.REFUSED, None, code, why)
        protocol = pi_parse.text(matching[0], "numeroPi")
        return Filing(claim_id, Outcome.ALREADY_FILED, protocol, code, filing.reason)

    def _classify(
        self, operation: str, claim_id: int, returned: int | None, description: str, protocol: str | None
    ) -> Filing:
        said = f' (Correios: "{description}")' if description else ""
        if returned is None:
            return Filing(claim_id, Outcome.RETRY, None, None, f"{operation} answered no return code{said}")
        entry = lookup(operation, returned)
        if entry is None:
            why = f"unknown {operation} return code {returned}{said}: a person decides"
            return Filing(claim_id, Outcome.FALL_BACK, None, str(returned), why)
        reason = f"{entry.reason_en} / {entry.reason_pt}{said}"
        if entry.outcome is Outcome.FILED and not protocol:
            why = f"{operation} answered {returned} without a protocol number: filing again looks it up"
            return Filing(claim_id, Outcome.RETRY, None, str(returned), why)
        keep = protocol if entry.outcome in (Outcome.FILED, Outcome.ALREADY_FILED) else None
        return Filing(claim_id, entry.outcome, keep or None, str(returned), reason)

    async def _acompanha(self, key: str) -> tuple[list[dict[str, Any]], int | None, str]:
        """The manifestação records Correios holds for a protocol or tracking code, or the code saying why none."""
        contract = (await self._ids())["contrato"]
        params = {"contrato": contract, "canal": "W", "codigodoObjetoOuProtocolo": key}

        async def call() -> tuple[list[dict[str, Any]], int | None, str]:
            payload = await self._cws.request("GET", ACOMPANHA, params=params, data_statuses=DATA_STATUSES, echo=False)
            found, returned, description = pi_parse.records(payload)
            if returned == 999:
                raise _Temporary(f"acompanha answered 999 ({description})", carrier=CARRIER)
            return found, returned, description

        return await with_retries(call, sleep=self._cws.sleep, policy=self._cws.retry)

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        async def call() -> Any:
            return await self._cws.request("POST", path, json=body, data_statuses=DATA_STATUSES, echo=False)

        return await with_retries(call, sleep=self._cws.sleep, policy=self._cws.retry)

    async def _ids(self) -> dict[str, str]:
        creds = self._account.credentials
        contract = creds.get("contract") or await self._cws.contract()
        if not contract:
            raise _NoContract(
                f"Correios account {self._account.name!r} has no 'contract' credential and its token names none: "
                "add the contract number to the account, or file by hand",
                carrier=CARRIER,
            )
        return {"contrato": contract, "cartao": creds["posting_card"]}

    def _phone(self) -> dict[str, str]:
        phone = self._account.credentials.get("phone")
        return {"telefone": phone} if phone else {}


class _NoContract(CarrierError):
    code = "no_contract"


class _Temporary(TransientError):
    code = "carrier_temporary_error"


def _unique_codes(requests: Sequence[ClaimRequest]) -> list[list[ClaimRequest]]:
    """Split into calls in which each tracking code appears once (answers are keyed by the object's code)."""
    calls: list[list[ClaimRequest]] = []
    seen: list[set[str]] = []
    for request in requests:
        code = request.tracking_code.upper()
        for batch, codes in zip(calls, seen, strict=True):
            if code not in codes:
                batch.append(request)
                codes.add(code)
                break
        else:
            calls.append([request])
            seen.append({code})
    return calls
