"""The correios_api filer against respx: every return code of pi_codes.csv, 900 look-ups, batching, faults."""

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from carriers.base import AuthFailed, ClaimRequest, ContractError, Manifestation, Outcome
from carriers.base.registry import get as get_carrier
from carriers.correios.claims import CorreiosApiFiler
from carriers.correios.client import CorreiosClient
from carriers.correios.pi_codes import load_codes
from tests.carriers.correios.test_client import ACCOUNT, BASE, OK_BODY, token_body
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock

TOKEN = "/token/v1/autentica/cartaopostagem"
CADASTRA = "/pedido-informacao/v1/externo/pedidos/cadastra"
REATIVA = "/pedido-informacao/v1/externo/pedidos/reativa"
ACOMPANHA = "/pedido-informacao/v1/externo/pedidos/acompanha"
CODE = "SS000000017BR"
ROWS = list(load_codes().values())


def request(claim_id: int = 1, code: str = CODE, motivo: int = 211) -> ClaimRequest:
    return ClaimRequest(
        claim_id=claim_id,
        tracking_code=code,
        motivo=motivo,
        manifestation=Manifestation.REFUND,
        packaging="C",
        addressee_name="Maria da Silva",
        reply_email="maria@example.com",
        note="lost in transit",
    )


def cadastra_answer(*lines: tuple[str, str, str], top: int = 0) -> dict[str, Any]:
    return {
        "codigoRetorno": top,
        "descricaoRetorno": "Olá",
        "numeroLote": "0000001",
        "dataHoraCadastro": "20/04/2023 16:13:15",
        "pi": [
            {"codigo do objeto": c, "numero do pi": pi, "codigo retorno": rc, "descrição retorno": f"texto {rc}"}
            for c, pi, rc in lines
        ],
        "mensagensPi": 0,
    }


def record(pi: str = "123456789", motivo: str = "211", **extra: str) -> dict[str, str]:
    return {
        "codigoObjeto": CODE,
        "numeroPi": pi,
        "motivoReclamacaoInicial": motivo,
        "motivoReclamacaoFinal": motivo,
        "Data de Abertura PI": "20/04/2023",
        "Situação Manifestação": "Em andamento",
        "Indicativo Procedência": "",
        "Mensagem Última Resposta": "",
        "Data Última Resposta": "",
        "Código Retorno": "00",
        "Tipo Manifestação": "I",
        **extra,
    }


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post(TOKEN).respond(201, json={**token_body(), "cartaoPostagem": {"numero": "1", "contrato": "99"}})
        yield router


@pytest.fixture
def http() -> httpx.AsyncClient:
    return httpx.AsyncClient()


@pytest.fixture
def filer(http: httpx.AsyncClient, clock: SimulatedClock, sleep: RecordingSleep) -> CorreiosApiFiler:
    return CorreiosApiFiler(ACCOUNT, http, clock.now, sleep)


def test_the_correios_spec_offers_the_filer() -> None:
    assert get_carrier("correios").filer("correios_api") is CorreiosApiFiler
    assert "phone" in get_carrier("correios").optional_credential_fields


@pytest.mark.parametrize("row", [r for r in ROWS if r.operation == "cadastra"], ids=lambda r: f"cadastra-{r.code}")
async def test_every_cadastra_code_is_classified_as_the_table_says(
    mock: respx.MockRouter, filer: CorreiosApiFiler, row: Any
) -> None:
    mock.post(CADASTRA).respond(200, json=cadastra_answer((CODE, "777" if row.code == 0 else "0", str(row.code))))
    mock.get(ACOMPANHA).respond(200, json=record("555"))
    [filing] = await filer.file([request()])
    assert filing.claim_id == 1
    assert filing.outcome is row.outcome
    assert filing.code == str(row.code)
    assert row.reason_en in filing.reason and f"texto {row.code}" in filing.reason
    expected_protocol = {Outcome.FILED: "777", Outcome.ALREADY_FILED: "555"}.get(row.outcome)
    assert filing.protocol == expected_protocol
    assert "maria" not in filing.reason.lower()


@pytest.mark.parametrize("row", [r for r in ROWS if r.operation == "reativa"], ids=lambda r: f"reativa-{r.code}")
async def test_every_reativa_code_is_classified_as_the_table_says(
    mock: respx.MockRouter, filer: CorreiosApiFiler, row: Any
) -> None:
    mock.get(ACOMPANHA).respond(200, json=record("98043414", "135"))
    answer = {
        "protocolo": "0",
        "codigoRetorno": row.code,
        "descricaoRetorno": f"texto {row.code}",
        "pi": [{"protocolo": "98043414", "numero do pi": "98043415", "codigo retorno": "0", "descrição retorno": "ok"}],
    }
    reativa = mock.post(REATIVA).respond(200, json=answer)
    filing = await filer.reactivate("98043414", 7, "the parcel never arrived;\n the customer insists")
    assert (filing.claim_id, filing.outcome, filing.code) == (7, row.outcome, str(row.code))
    assert row.reason_en in filing.reason
    sent = json.loads(reativa.calls[0].request.content)
    assert sent == {
        "contrato": "99",
        "cartao": "0067599079",
        "reativacoes": [
            {
                "protocolo": "98043414",
                "tipoManifestacao": "I",
                "motivoReativacao": "135",
                "observacao": "the parcel never arrived; the customer insists",
            }
        ],
    }
    if row.outcome is Outcome.FILED:
        assert filing.protocol == "98043415"


async def test_reativa_line_refusal_wins_over_the_batch_code(mock: respx.MockRouter, filer: CorreiosApiFiler) -> None:
    mock.get(ACOMPANHA).respond(200, json=record("98043414", "135"))
    line = {"protocolo": "98043414", "codigo retorno": "587", "descrição retorno": "expirou em 01/02/2023"}
    mock.post(REATIVA).respond(200, json={"codigoRetorno": 0, "descricaoRetorno": "", "pi": [line]})
    filing = await filer.reactivate("98043414", 7, "motivo")
    assert (filing.outcome, filing.code) == (Outcome.REFUSED, "587")
    assert "expirou em 01/02/2023" in filing.reason


async def test_cadastra_sends_the_manual_body_with_contract_from_the_token(
    mock: respx.MockRouter, filer: CorreiosApiFiler
) -> None:
    cadastra = mock.post(CADASTRA).respond(200, json=cadastra_answer((CODE, "1", "0")))
    await filer.file([request()])
    assert cadastra.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert json.loads(cadastra.calls[0].request.content) == {
        "contrato": "99",
        "cartao": "0067599079",
        "pedidos": [
            {
                "codigoObjeto": CODE,
                "emailResposta": "maria@example.com",
                "nomeDestinatario": "Maria da Silva",
                "codigoMotivoReclamacao": 211,
                "tipoEmbalagem": "C",
                "tipoManifestacao": "I",
            }
        ],
    }


async def test_contract_and_phone_credentials_are_sent_when_given(
    mock: respx.MockRouter, http: httpx.AsyncClient, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    account = type(ACCOUNT)(
        1, "correios", "loja", BASE, {**ACCOUNT.credentials, "contract": "42", "phone": "1133334444"}
    )
    cadastra = mock.post(CADASTRA).respond(200, json=cadastra_answer((CODE, "1", "0")))
    await CorreiosApiFiler(account, http, clock.now, sleep).file([request()])
    body = json.loads(cadastra.calls[0].request.content)
    assert (body["contrato"], body["telefone"]) == ("42", "1133334444")


async def test_no_contract_anywhere_falls_back_with_the_reason(
    http: httpx.AsyncClient, filer: CorreiosApiFiler
) -> None:
    with respx.mock(base_url=BASE) as router:
        router.post(TOKEN).respond(201, json=token_body())
        [filing] = await filer.file([request()])
    assert filing.outcome is Outcome.FALL_BACK and "'contract'" in filing.reason


async def test_the_tracking_clients_token_is_reused(
    mock: respx.MockRouter, http: httpx.AsyncClient, filer: CorreiosApiFiler, clock: SimulatedClock
) -> None:
    mock.get("/srorastro/v1/objetos").respond(200, json=OK_BODY)
    mock.post(CADASTRA).respond(200, json=cadastra_answer((CODE, "1", "0")))
    mock.get(ACOMPANHA).respond(200, json=record())
    await CorreiosClient(ACCOUNT, http, clock.now, RecordingSleep()).track([CODE])
    await filer.file([request()])
    await filer.follow(["123456789"])
    assert mock.routes[0].call_count == 1  # the token route


async def test_batches_keep_a_code_once_per_call_and_refuse_more_than_the_limit(
    mock: respx.MockRouter, filer: CorreiosApiFiler
) -> None:
    def answer(req: httpx.Request) -> httpx.Response:
        pedidos = json.loads(req.content)["pedidos"]
        return httpx.Response(200, json=cadastra_answer(*((p["codigoObjeto"], "9", "0") for p in pedidos)))

    cadastra = mock.post(CADASTRA).mock(side_effect=answer)
    codes = [f"SS{n:09d}BR" for n in range(49)]
    filings = await filer.file([request(i, c) for i, c in enumerate(codes)] + [request(99, codes[0], 135)])
    assert sorted(f.claim_id for f in filings) == [*range(49), 99]
    assert all(f.outcome is Outcome.FILED for f in filings)
    assert [len(json.loads(c.request.content)["pedidos"]) for c in cadastra.calls] == [49, 1]
    with pytest.raises(ValueError, match="1 to 50"):
        await filer.file([request(i) for i in range(51)])


async def test_900_for_another_motivo_is_refused_naming_the_protocol_held(
    mock: respx.MockRouter, filer: CorreiosApiFiler
) -> None:
    mock.post(CADASTRA).respond(200, json=cadastra_answer((CODE, "0", "900")))
    mock.get(ACOMPANHA).respond(200, json=[record("111", "134")])
    [filing] = await filer.file([request(motivo=135)])
    assert (filing.outcome, filing.code, filing.protocol) == (Outcome.REFUSED, "900", None)
    assert "111" in filing.reason and "134" in filing.reason


@pytest.mark.parametrize(
    ("lookup", "outcome"),
    [
        (httpx.Response(200, json={"codigoRetorno": 631, "descricaoRetorno": "nível de serviço"}), Outcome.FALL_BACK),
        (httpx.Response(404, json={"codigoRetorno": 990, "descricaoRetorno": "nada"}), Outcome.RETRY),
        (httpx.Response(503), Outcome.RETRY),
        (httpx.Response(200, json={"unexpected": True}), Outcome.RETRY),
    ],
)
async def test_900_whose_look_up_fails_never_files_again(
    mock: respx.MockRouter, filer: CorreiosApiFiler, lookup: httpx.Response, outcome: Outcome
) -> None:
    cadastra = mock.post(CADASTRA).respond(200, json=cadastra_answer((CODE, "0", "900")))
    mock.get(ACOMPANHA).mock(return_value=lookup)
    [filing] = await filer.file([request()])
    assert (filing.outcome, filing.code, filing.protocol) == (outcome, "900", None)
    assert "already registered" in filing.reason
    assert cadastra.call_count == 1


@pytest.mark.parametrize(
    "fault",
    [
        httpx.Response(503, text="down"),
        httpx.Response(429),
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.ConnectTimeout("slow"),
        httpx.ConnectError("refused"),
    ],
    ids=["5xx", "429", "not-json", "timeout", "connect"],
)
async def test_transport_faults_retry_with_backoff_then_answer_retry(
    mock: respx.MockRouter, filer: CorreiosApiFiler, sleep: RecordingSleep, fault: Any
) -> None:
    route = mock.post(CADASTRA)
    route.mock(side_effect=fault) if isinstance(fault, Exception) else route.mock(return_value=fault)
    filings = await filer.file([request(1), request(2, "SS000000021BR")])
    assert [(f.claim_id, f.outcome) for f in filings] == [(1, Outcome.RETRY), (2, Outcome.RETRY)]
    assert route.call_count == 4 and len(sleep.waits) == 3  # the client's back-off, then RETRY
    assert "maria" not in filings[0].reason.lower()


async def test_a_fault_then_success_is_filed(mock: respx.MockRouter, filer: CorreiosApiFiler) -> None:
    mock.post(CADASTRA).mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json=cadastra_answer((CODE, "5", "0")))]
    )
    [filing] = await filer.file([request()])
    assert (filing.outcome, filing.protocol) == (Outcome.FILED, "5")


async def test_a_batch_wide_code_applies_to_every_request(mock: respx.MockRouter, filer: CorreiosApiFiler) -> None:
    mock.post(CADASTRA).respond(200, json={**cadastra_answer(top=121), "pi": []})
    filings = await filer.file([request(1), request(2, "SS000000021BR")])
    assert [(f.outcome, f.code) for f in filings] == [(Outcome.REFUSED, "121")] * 2


async def test_a_business_answer_on_http_400_is_read_as_data(mock: respx.MockRouter, filer: CorreiosApiFiler) -> None:
    mock.post(CADASTRA).respond(400, json=cadastra_answer((CODE, "0", "271")))
    [filing] = await filer.file([request()])
    assert (filing.outcome, filing.code) == (Outcome.REFUSED, "271")


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (cadastra_answer((CODE, "", "0")), Outcome.RETRY),  # registered without a protocol: a refiling looks it up
        (cadastra_answer(("SS000000021BR", "3", "0")), Outcome.RETRY),  # no line for our object
        (cadastra_answer((CODE, "", "")), Outcome.RETRY),  # no return code at all
        (cadastra_answer((CODE, "", "4242")), Outcome.FALL_BACK),  # a code the table does not know: a person decides
    ],
)
async def test_odd_lines_are_classified_never_crash(
    mock: respx.MockRouter, filer: CorreiosApiFiler, answer: Any, outcome: Outcome
) -> None:
    mock.post(CADASTRA).respond(200, json=answer)
    [filing] = await filer.file([request()])
    assert filing.outcome is outcome and filing.protocol is None and filing.reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({"numeroLote": "1"}, "neither 'codigoRetorno' nor 'pi'"),
        ({"codigoRetorno": 0, "pi": "x"}, r"cadastra.pi: expected a list"),
        ({"codigoRetorno": 0, "pi": ["x"]}, r"cadastra.pi\[0\]: expected an object"),
        ({"codigoRetorno": "zero", "pi": []}, "expected a numeric return code, got 'zero'"),
    ],
)
async def test_malformed_answers_are_a_clear_contract_error(
    mock: respx.MockRouter, filer: CorreiosApiFiler, body: Any, message: str
) -> None:
    mock.post(CADASTRA).respond(200, json=body)
    with pytest.raises(ContractError, match=message):
        await filer.file([request()])


async def test_a_4xx_without_an_answer_is_a_contract_error_that_does_not_echo_customer_data(
    mock: respx.MockRouter, filer: CorreiosApiFiler
) -> None:
    mock.post(CADASTRA).respond(415, text="bad request for maria@example.com")
    with pytest.raises(ContractError) as raised:
        await filer.file([request()])
    assert "HTTP 415" in str(raised.value) and "maria" not in str(raised.value)


async def test_credentials_refused_raise_auth_failed(filer: CorreiosApiFiler) -> None:
    with respx.mock(base_url=BASE) as router:
        router.post(TOKEN).respond(401)
        with pytest.raises(AuthFailed):
            await filer.file([request()])


async def test_follow_reads_answers_dates_and_sandbox_payment(mock: respx.MockRouter, filer: CorreiosApiFiler) -> None:
    answered = record(
        "123",
        **{
            "Indicativo Procedência": "S",
            "Mensagem Última Resposta": "Indenização aprovada",
            "Data Última Resposta": "30/01/2023 16:13:15",
            "valorPago": "45.90",
            "dataPagamento": "06/02/2023",
        },
    )
    pending = record("456")
    denied = record("789", **{"Indicativo Procedência": "N", "Data Última Resposta": "31/01/2023"})

    def answer(req: httpx.Request) -> httpx.Response:
        key = req.url.params["codigodoObjetoOuProtocolo"]
        assert (req.url.params["contrato"], req.url.params["canal"]) == ("99", "W")
        found = {"123": answered, "456": pending, "789": denied}.get(key)
        return httpx.Response(200, json=found or {"codigoRetorno": 990, "descricaoRetorno": "nada"})

    mock.get(ACOMPANHA).mock(side_effect=answer)
    answers = {a.protocol: a for a in await filer.follow(["123", "456", "789", "000", "123"])}
    assert set(answers) == {"123", "456", "789"}
    a = answers["123"]
    assert (a.tracking_code, a.answered, a.upheld, a.message) == (CODE, True, True, "Indenização aprovada")
    assert a.answered_at == datetime(2023, 1, 30, 19, 13, 15, tzinfo=UTC)
    assert (a.paid_amount, a.paid_at) == (Decimal("45.90"), datetime(2023, 2, 6, 3, 0, tzinfo=UTC))
    assert (answers["456"].answered, answers["456"].upheld, answers["456"].paid_amount) == (False, None, None)
    assert (answers["789"].answered, answers["789"].upheld) == (True, False)


@pytest.mark.parametrize(
    "bad",
    [{"Data Última Resposta": "2023-01-30"}, {"Indicativo Procedência": "talvez"}, {"valorPago": "muito"}],
)
async def test_follow_leaves_a_malformed_answer_out_with_a_clear_log(
    mock: respx.MockRouter, filer: CorreiosApiFiler, caplog: pytest.LogCaptureFixture, bad: dict[str, str]
) -> None:
    mock.get(ACOMPANHA).mock(
        side_effect=lambda req: httpx.Response(
            200,
            json=record(
                req.url.params["codigodoObjetoOuProtocolo"],
                **(bad if "1" in req.url.params["codigodoObjetoOuProtocolo"] else {}),
            ),
        )
    )
    with caplog.at_level(logging.WARNING, logger="carriers.correios.claims"):
        answers = await filer.follow(["1", "2"])
    assert [a.protocol for a in answers] == ["2"]
    assert "acompanha 1 left out" in caplog.text and repr(next(iter(bad.values()))) in caplog.text


async def test_follow_retries_999_then_reads(
    mock: respx.MockRouter, filer: CorreiosApiFiler, sleep: RecordingSleep
) -> None:
    mock.get(ACOMPANHA).mock(
        side_effect=[
            httpx.Response(200, json={"codigoRetorno": 999, "descricaoRetorno": "tente"}),
            httpx.Response(200, json=record("1")),
        ]
    )
    assert [a.protocol for a in await filer.follow(["1"])] == ["1"]
    assert len(sleep.waits) == 1


async def test_reactivate_an_unknown_protocol_without_motivo_falls_back(
    mock: respx.MockRouter, filer: CorreiosApiFiler
) -> None:
    mock.get(ACOMPANHA).respond(200, json={"numeroPi": "5", "codigoObjeto": CODE})
    reativa = mock.post(REATIVA)
    filing = await filer.reactivate("5", 3, "why")
    assert filing.outcome is Outcome.FALL_BACK and "no motivo" in filing.reason
    assert not reativa.called
