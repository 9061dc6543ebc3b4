"""The sandbox's ``/pedido-informacao/v1/externo/pedidos/*`` routes: cadastra, reativa, acompanha (rules in pi.py).

Each passes the same gate as tracking (bearer token 401, outage 503, rate limit 429, latency) and answers the
manual's shapes with HTTP 200, business codes in the body; a body that is not the expected JSON object is a
400 ``{"msgs": [...]}``. ``contrato`` must be the sandbox's contract (else 121) and ``cartao`` given (else 126).
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carriers.sandbox import pi
from carriers.sandbox.control import counted, msgs
from carriers.sandbox.scenarios import scenario_of
from carriers.sandbox.state import SandboxState

BASE = "/pedido-informacao/v1/externo/pedidos"
Gate = Callable[[Request], Awaitable[Response | None]]
TEXTS = {
    0: "Olá, sua manifestação foi registrada com sucesso.",
    4: "Olá, dados informados não encontrados na base dos Correios.",
    121: "Olá, o número do contrato não existe na base de dados dos Correios.",
    126: "Olá, o número do cartão de postagem informado não corresponde ao da postagem do objeto.",
    262: "Olá, não é permitido o registro desta manifestação/motivo via Webservice ou Correios Mobile.",
    272: "Olá, este canal é exclusivo para o registro de manifestação para objetos/serviço nacionais.",
    291: "Tipo de consulta inválido",
    512: "Olá, sua manifestação foi reativada com sucesso.",
    544: "Olá, o objeto está dentro do prazo previsto de entrega. Para esta consulta não será gerado protocolo.",
    900: "Olá, já existe uma manifestação registrada para objeto informado.",
    990: "Não foi encontrada uma manifestação que atenda aos critérios informados",
    999: "Olá, ocorreu um erro durante o processo de cadastro. Tente novamente em alguns minutos.",
}


def text(code: int) -> str:
    return TEXTS.get(code, f"Olá, código {code} (sandbox).")


def pi_routes(state: SandboxState, contract: str, gate: Gate) -> list[Route]:
    async def cadastra(request: Request) -> Response:
        body, refused = await _body(request, gate, "pedidos")
        if refused is not None:
            return refused
        now = state.clock.now()
        lot = state.next_lot()
        head = _ids(body, contract)
        if head is not None:
            return JSONResponse({**_top(head, lot), "dataHoraCadastro": pi.stamp(now), "pi": [], "mensagensPi": 0})
        lines = []
        for item in body["pedidos"]:
            code, protocol = register(item)
            tracking = str(item.get("codigoObjeto", "")).strip().upper() if isinstance(item, dict) else ""
            lines.append(
                {
                    "codigo do objeto": tracking,
                    "numero do pi": protocol or "0",
                    "codigo retorno": str(code),
                    "descrição retorno": text(code),
                }
            )
        top = 0 if any(line["codigo retorno"] == "0" for line in lines) else int(lines[0]["codigo retorno"])
        return JSONResponse({**_top(top, lot), "dataHoraCadastro": pi.stamp(now), "pi": lines, "mensagensPi": 0})

    def register(item: Any) -> tuple[int, str | None]:
        problem = pi.pedido_problem(item)
        if problem is not None:
            return problem, None
        code, motivo = item["codigoObjeto"].strip().upper(), int(item["codigoMotivoReclamacao"])
        if not code.endswith("BR"):
            return 272, None
        parcel = state.parcels.get(code)
        if parcel is None:
            return 4, None
        if state.pi_temporary_error(code, motivo):
            return 999, None
        if motivo in state.faults.pi_blocked_motivos:
            return 262, None
        if (code, motivo) in state.claims_by_object:
            return 900, None
        now = state.clock.now()
        problem = pi.timeline_problem(motivo, pi.facts(state.render([code], now)[0]), now)
        if problem is not None:
            return problem, None
        plan = scenario_of(parcel, state.scenarios).claim
        protocol = state.next_protocol()
        answer_at = pi.add_business_days(now, plan.answer_days)
        state.claims[protocol] = pi.Manifestacao(protocol, code, motivo, item["tipoManifestacao"], now, answer_at, plan)
        state.claims_by_object[(code, motivo)] = protocol
        state.object_claims.setdefault(code, []).append(protocol)
        return 0, protocol

    async def reativa(request: Request) -> Response:
        body, refused = await _body(request, gate, "reativacoes")
        if refused is not None:
            return refused
        now = state.clock.now()
        lot = state.next_lot()
        head = _ids(body, contract)
        stamp = {"Data hora reativação": pi.stamp(now)}
        if head is not None:
            return JSONResponse({"protocolo": "0", **_top(head, lot), **stamp, "pi": []})
        lines = []
        for item in body["reativacoes"]:
            item = item if isinstance(item, dict) else {}
            protocol = str(item.get("protocolo") or "").strip()
            claim = state.claims.get(protocol)
            problem = 50 if not protocol else pi.reactivation_problem(claim, item, now)
            code = 512 if problem is None else problem
            if problem is None and claim is not None:
                claim.reactivated = True
                claim.answer_at = pi.add_business_days(now, claim.plan.answer_days)
            line_code = "0" if code == 512 else str(code)
            number = protocol if code == 512 else "0"
            lines.append(
                {
                    "protocolo": protocol,
                    "numero do pi": number,
                    "codigo retorno": line_code,
                    "descrição retorno": text(code),
                }
            )
        top = 512 if any(line["codigo retorno"] == "0" for line in lines) else int(lines[0]["codigo retorno"])
        return JSONResponse({"protocolo": "0", **_top(top, lot), **stamp, "pi": lines})

    async def acompanha(request: Request) -> Response:
        refused = await gate(request)
        if refused is not None:
            return refused
        params = request.query_params
        if params.get("contrato") != contract:
            return JSONResponse(_top(122, None))
        if params.get("canal", "W") != "W":
            return JSONResponse(_top(291, None))
        keys = [k.strip().upper() for k in params.get("codigodoObjetoOuProtocolo", "").split(",") if k.strip()]
        if not keys:
            return JSONResponse(_top(291, None))
        now = state.clock.now()
        found = []
        for key in keys:
            if key in state.claims:
                found.append(state.claims[key])
            else:
                found += [state.claims[p] for p in state.object_claims.get(key, ())]
        if not found:
            return JSONResponse(_top(990, None))
        records = [pi.record(claim, now) for claim in found]
        return JSONResponse(records[0] if len(records) == 1 else records)

    return [
        Route(BASE + "/cadastra", counted(state, "cadastra", cadastra), methods=["POST"]),
        Route(BASE + "/reativa", counted(state, "reativa", reativa), methods=["POST"]),
        Route(BASE + "/acompanha", counted(state, "acompanha", acompanha), methods=["GET"]),
    ]


async def _body(request: Request, gate: Gate, items: str) -> tuple[dict[str, Any], Response | None]:
    refused = await gate(request)
    if refused is not None:
        return {}, refused
    try:
        body = json.loads(await request.body())
    except ValueError:
        return {}, msgs(400, "Corpo da requisição inválido: JSON esperado.")
    if not isinstance(body, dict):
        return {}, msgs(400, "Corpo da requisição inválido: objeto JSON esperado.")
    if not isinstance(body.get(items), list) or not body[items]:
        return {}, msgs(400, f"Informe ao menos um item em '{items}'.")
    return body, None


def _ids(body: dict[str, Any], contract: str) -> int | None:
    """121 for another contract, 126 without a posting card; None when both are fine."""
    if str(body.get("contrato", "")).strip() != contract:
        return 121
    if not str(body.get("cartao", "")).strip():
        return 126
    return None


def _top(code: int, lot: str | None) -> dict[str, Any]:
    top: dict[str, Any] = {"codigoRetorno": code, "descricaoRetorno": text(code)}
    if lot is not None:
        top["numeroLote"] = lot
    return top
